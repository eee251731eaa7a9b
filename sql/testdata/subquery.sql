CREATE DATABASE d
----
ok affected=1

USE d
----
ok affected=0

CREATE TABLE a (id INT PRIMARY KEY, g INT, name VARCHAR(10))
----
ok affected=0

CREATE TABLE b (id INT PRIMARY KEY, a_id INT, v INT, KEY (a_id))
----
ok affected=0

INSERT INTO a VALUES (1, 1, 'x'), (2, 1, 'y'), (3, 2, 'z'), (4, NULL, 'w')
----
ok affected=4

INSERT INTO b VALUES (10, 1, 5), (11, 1, 7), (12, 3, 1), (13, NULL, 2)
----
ok affected=4

SELECT id FROM a WHERE id IN (SELECT a_id FROM b) ORDER BY id
----
1
3

SELECT id FROM a WHERE id NOT IN (SELECT a_id FROM b) ORDER BY id
----


SELECT id FROM a WHERE id NOT IN (SELECT a_id FROM b WHERE a_id IS NOT NULL) ORDER BY id
----
2
4

SELECT id, (SELECT SUM(v) FROM b WHERE b.a_id = a.id) AS s FROM a ORDER BY id
----
1	12
2	NULL
3	1
4	NULL

SELECT id FROM a WHERE EXISTS (SELECT 1 FROM b WHERE b.a_id = a.id) ORDER BY id
----
1
3

SELECT id FROM a WHERE NOT EXISTS (SELECT * FROM b WHERE b.a_id = a.id) ORDER BY id
----
2
4

SELECT (SELECT MAX(v) FROM b)
----
7

SELECT (SELECT v FROM b)
----
error 1242: Subquery returns more than 1 row

SELECT id FROM a WHERE g = (SELECT g FROM a WHERE name = 'z')
----
3

SELECT id FROM a WHERE id > ALL (SELECT a_id FROM b WHERE a_id IS NOT NULL) ORDER BY id
----
4

SELECT id FROM a WHERE id < ANY (SELECT a_id FROM b) ORDER BY id
----
1
2

SELECT t.g, t.n FROM (SELECT g, COUNT(*) AS n FROM a GROUP BY g) AS t ORDER BY t.g
----
NULL	1
1	2
2	1

SELECT id FROM a UNION SELECT a_id FROM b ORDER BY 1
----
NULL
1
2
3
4

SELECT g FROM a UNION ALL SELECT g FROM a ORDER BY g DESC LIMIT 3
----
2
2
1

SELECT name FROM a WHERE id = 1 UNION SELECT 'X' UNION SELECT 'x'
----
x

SELECT id FROM a HAVING id > (SELECT MIN(a_id) FROM b) ORDER BY id
----
2
3
4

UPDATE b SET v = v + 100 WHERE a_id IN (SELECT id FROM a WHERE g = 1)
----
ok affected=2

SELECT id, v FROM b ORDER BY id
----
10	105
11	107
12	1
13	2

DELETE FROM b WHERE NOT EXISTS (SELECT 1 FROM a WHERE a.id = b.a_id)
----
ok affected=1

SELECT COUNT(*) FROM b
----
3

