CREATE DATABASE d1
----
ok affected=1

CREATE TABLE d1.t (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL DEFAULT 'x', amount DECIMAL(10,2), KEY k_name (name))
----
ok affected=0

SELECT schema_name FROM information_schema.schemata ORDER BY schema_name
----
d1
information_schema

SELECT table_schema, table_name, table_type FROM information_schema.tables WHERE table_schema = 'd1'
----
d1	t	BASE TABLE

SELECT column_name, ordinal_position, column_default, is_nullable, data_type, column_type, column_key FROM information_schema.columns WHERE table_schema = 'd1' AND table_name = 't' ORDER BY ordinal_position
----
id	1	NULL	NO	int	int	PRI
name	2	x	NO	varchar	varchar(20)	MUL
amount	3	NULL	YES	decimal	decimal(10,2)	

SELECT index_name, seq_in_index, column_name, non_unique FROM information_schema.statistics WHERE table_schema = 'd1' ORDER BY index_name
----
k_name	1	name	1
PRIMARY	1	id	0

SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'information_schema'
----
6

DELETE FROM information_schema.tables
----
error 1044: Access denied for user 'root'@'%' to database 'information_schema'

USE information_schema
----
ok affected=0

SHOW TABLES FROM d1
----
t

SHOW CREATE TABLE d1.t
----
t	CREATE TABLE `t` (
  `id` int NOT NULL,
  `name` varchar(20) NOT NULL DEFAULT 'x',
  `amount` decimal(10,2) DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `k_name` (`name`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci

SHOW COLUMNS FROM d1.t
----
id	int	NO	PRI	NULL	
name	varchar(20)	NO	MUL	x	
amount	decimal(10,2)	YES		NULL	

EXPLAIN SELECT * FROM d1.t WHERE id = 1
----
1	SIMPLE	t	NULL	const	PRIMARY	PRIMARY	NULL	NULL	NULL	100.00	

EXPLAIN SELECT name FROM d1.t WHERE name = 'a'
----
1	SIMPLE	t	NULL	ref	k_name	k_name	NULL	NULL	NULL	100.00	Using index

EXPLAIN SELECT * FROM d1.t WHERE amount > 1
----
1	SIMPLE	t	NULL	ALL	NULL	NULL	NULL	NULL	NULL	100.00	

