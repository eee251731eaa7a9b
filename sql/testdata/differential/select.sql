-- SELECT: filters, ordering, limits, grouping and aggregates.
CREATE TABLE emp (
  id INT PRIMARY KEY,
  name VARCHAR(20) NOT NULL,
  dept VARCHAR(10),
  salary DECIMAL(10,2),
  age INT,
  hired DATE,
  KEY k_dept (dept),
  KEY k_age (age)
);

INSERT INTO emp VALUES
  (1, 'Alice', 'eng', 120000.00, 34, '2015-03-01'),
  (2, 'Bob', 'eng', 95000.50, 28, '2019-07-15'),
  (3, 'Carol', 'sales', 70000.00, 45, '2010-01-10'),
  (4, 'Dan', 'sales', 65000.00, 23, '2021-11-30'),
  (5, 'Eve', 'hr', 60000.00, 39, '2012-05-20'),
  (6, 'Frank', NULL, 50000.00, NULL, NULL),
  (7, 'Grace', 'eng', 130000.00, 51, '2005-09-09'),
  (8, 'Heidi', 'ops', NULL, 31, '2018-02-28'),
  (9, 'ivan', 'ops', 55000.25, 27, '2022-06-01'),
  (10, 'judy', 'eng', 99000.00, 30, '2020-04-04');

SELECT * FROM emp;

SELECT name FROM emp WHERE dept = 'eng';

SELECT name FROM emp WHERE dept = 'ENG';

SELECT name FROM emp WHERE dept <> 'eng';

SELECT name FROM emp WHERE dept != 'eng' OR dept IS NULL;

SELECT name FROM emp WHERE salary > 90000 AND age < 40;

SELECT name FROM emp WHERE salary >= 95000.50;

SELECT name FROM emp WHERE NOT (age > 30);

SELECT name FROM emp WHERE age BETWEEN 28 AND 39;

SELECT name FROM emp WHERE age NOT BETWEEN 28 AND 39;

SELECT name FROM emp WHERE id IN (1, 3, 5, 99);

SELECT name FROM emp WHERE id NOT IN (1, 3, 5);

SELECT name FROM emp WHERE dept IN ('eng', NULL);

SELECT name FROM emp WHERE dept NOT IN ('eng', NULL);

SELECT name FROM emp WHERE dept IS NULL;

SELECT name FROM emp WHERE salary IS NOT NULL AND age IS NULL;

SELECT name FROM emp WHERE name LIKE 'a%';

SELECT name FROM emp WHERE name LIKE '%e';

SELECT name FROM emp WHERE name LIKE '_a%';

SELECT name FROM emp WHERE name NOT LIKE '%a%';

SELECT name FROM emp WHERE name LIKE 'J___';

SELECT name FROM emp WHERE hired > '2019-01-01';

SELECT name FROM emp WHERE hired BETWEEN '2010-01-01' AND '2015-12-31';

SELECT name FROM emp WHERE YEAR(hired) = 2018;

SELECT name FROM emp WHERE id = '3';

SELECT name FROM emp WHERE id = 3.0;

SELECT name FROM emp WHERE id > 8.5;

SELECT name FROM emp WHERE age = '28';

SELECT name FROM emp WHERE id = 1 OR id = 2 OR id = 10;

SELECT name FROM emp WHERE id >= 4 AND id < 7;

SELECT name, salary FROM emp ORDER BY salary;

SELECT name, salary FROM emp ORDER BY salary DESC;

SELECT name, age FROM emp ORDER BY age DESC, name;

SELECT name FROM emp ORDER BY name;

SELECT name FROM emp ORDER BY name DESC;

SELECT name, dept FROM emp ORDER BY dept, name;

SELECT name AS n, age AS a FROM emp ORDER BY a, n;

SELECT name, salary / 12 AS monthly FROM emp WHERE salary IS NOT NULL ORDER BY monthly DESC;

SELECT name, age FROM emp ORDER BY 2, 1;

SELECT name, age FROM emp ORDER BY age + id, name;

SELECT name FROM emp ORDER BY LENGTH(name), name;

SELECT name FROM emp ORDER BY id DESC LIMIT 3;

SELECT name FROM emp ORDER BY id LIMIT 2, 3;

SELECT name FROM emp ORDER BY id LIMIT 3 OFFSET 8;

SELECT name FROM emp ORDER BY id LIMIT 0;

SELECT name FROM emp ORDER BY id LIMIT 100 OFFSET 20;

SELECT name FROM emp WHERE dept = 'eng' ORDER BY salary DESC LIMIT 1;

SELECT id, name FROM emp WHERE id > 3 ORDER BY id LIMIT 2;

SELECT id FROM emp WHERE id BETWEEN 2 AND 8 ORDER BY id DESC;

SELECT DISTINCT dept FROM emp;

SELECT DISTINCT dept FROM emp ORDER BY dept;

SELECT DISTINCT dept, age > 30 FROM emp;

SELECT COUNT(*) FROM emp;

SELECT COUNT(*), COUNT(dept), COUNT(age), COUNT(DISTINCT dept) FROM emp;

SELECT SUM(salary), AVG(salary), MIN(salary), MAX(salary) FROM emp;

SELECT SUM(age), AVG(age), MIN(age), MAX(age) FROM emp;

SELECT MIN(name), MAX(name), MIN(hired), MAX(hired) FROM emp;

SELECT COUNT(*), SUM(age), AVG(age), MAX(age) FROM emp WHERE id > 100;

SELECT dept, COUNT(*) FROM emp GROUP BY dept;

SELECT dept, COUNT(*) AS c, SUM(salary), AVG(age) FROM emp GROUP BY dept ORDER BY c DESC, dept;

SELECT dept, MAX(salary) - MIN(salary) FROM emp GROUP BY dept;

SELECT dept, COUNT(*) FROM emp GROUP BY dept HAVING COUNT(*) > 1;

SELECT dept, AVG(salary) AS a FROM emp GROUP BY dept HAVING a > 60000 ORDER BY a;

SELECT dept, SUM(age) FROM emp WHERE age > 25 GROUP BY dept HAVING SUM(age) > 50;

SELECT age > 30, COUNT(*) FROM emp GROUP BY age > 30;

SELECT YEAR(hired) AS y, COUNT(*) FROM emp GROUP BY y ORDER BY y;

SELECT dept, COUNT(DISTINCT age > 30) FROM emp GROUP BY dept;

SELECT COUNT(DISTINCT dept, age > 30) FROM emp;

SELECT dept, GROUP_CONCAT(name ORDER BY name) FROM emp GROUP BY dept ORDER BY dept;

SELECT dept FROM emp GROUP BY dept ORDER BY dept DESC;

SELECT dept, COUNT(*) FROM emp GROUP BY 1 ORDER BY 1;

SELECT 1 + 1, 'x', NULL;

SELECT 1 FROM emp WHERE id = 1;

SELECT COUNT(*) FROM emp WHERE 1 = 0;

SELECT name, CASE WHEN age < 30 THEN 'young' WHEN age < 45 THEN 'mid' ELSE 'senior' END AS band FROM emp ORDER BY id;

SELECT name, IF(salary > 90000, 'high', 'normal'), IFNULL(dept, '-') FROM emp ORDER BY id;

SELECT name, COALESCE(dept, age, 'none') FROM emp ORDER BY id;

SELECT e.name FROM emp AS e WHERE e.age > 40;

SELECT emp.name, emp.id FROM emp WHERE emp.id < 3;

SELECT name FROM emp WHERE dept = 'eng' AND age > 29 ORDER BY age;

SELECT MAX(id) FROM emp WHERE dept = 'sales';

SELECT dept, name FROM emp WHERE age = (30);

SELECT SUM(salary * 2), SUM(age) / COUNT(age) FROM emp;

SELECT AVG(salary) FROM emp WHERE dept = 'eng';

SELECT name FROM emp WHERE salary BETWEEN 60000 AND 96000 AND dept IN ('eng', 'hr') ORDER BY salary;

SELECT 1 + 1, NULL, 2 * 3 AS six;
