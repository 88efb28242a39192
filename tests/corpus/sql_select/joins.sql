select o.id as order_id, c.name customer, sum(i.qty * i.unit_price) AS total
from orders o
  inner join customers c on c.id = o.customer_id
  left outer join order_items AS i ON i.order_id = o.id
  right join regions r using (region_id)
where o.created_at >= '2024-01-01' and (o.status in ('paid', 'shipped') or o.priority > 3)
group by o.id, c.name
having sum(i.qty * i.unit_price) > 100.50
order by total desc nulls last, order_id asc
limit 20 offset 40
