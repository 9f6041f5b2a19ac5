-- Least privilege for the agent side (RECAGENTS_DATABASE_READONLY_URL): a user that can only read.
-- Run once by the MySQL image on its first start (mounted into /docker-entrypoint-initdb.d).
-- Setup loads the data as the `recagents` user (RECAGENTS_DATABASE_URL); the agents connect as
-- `recagents_ro`, so no session of theirs can write, whatever SQL reaches it.
CREATE USER IF NOT EXISTS 'recagents_ro'@'%' IDENTIFIED BY 'recagents_ro';
GRANT SELECT ON `recagents`.* TO 'recagents_ro'@'%';
FLUSH PRIVILEGES;
