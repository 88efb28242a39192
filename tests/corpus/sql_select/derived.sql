SELECT t.region, AVG(t.total) AS avg_total, MIN(t.total), MAX(t.total)
FROM (SELECT region, customer_id, SUM(amount) AS total FROM sales GROUP BY region, customer_id) AS t
FULL JOIN "Region Names" rn ON rn.code = t.region
GROUP BY t.region HAVING COUNT(DISTINCT t.customer_id) >= 10
