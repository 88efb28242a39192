SELECT DISTINCT d.name,
       (SELECT COUNT(*) FROM employees e WHERE e.dept_id = d.id) AS headcount
FROM departments d
WHERE d.id IN (SELECT dept_id FROM employees WHERE salary BETWEEN 50000 AND 90000)
  AND NOT EXISTS (SELECT 1 FROM closures x WHERE x.dept_id = d.id)
  AND d.name NOT LIKE '%temp%'
  AND d.manager_id IS NOT NULL
