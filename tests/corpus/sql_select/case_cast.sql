-- bucket products by price
SELECT p.*, CASE WHEN price < 10 THEN 'cheap' WHEN price < 100.0 THEN 'mid' ELSE 'premium' END AS bucket,
       CAST(price AS DECIMAL(10, 2)) AS price2, COALESCE(discount, 0) * -1 AS neg_discount,
       first_name || ' ' || last_name AS full_name
FROM products p /* all products */ CROSS JOIN currencies
WHERE p.category_id NOT IN (3, 5, 8) AND p.sku IS NULL OR p.price != 0
