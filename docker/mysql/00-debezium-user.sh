# Sourced (not executed: the file is not executable) by the mysql image's entrypoint on the first start, when the data
# directory is empty, before the .sql files: the connector's user with the privileges the Debezium MySQL
# documentation lists, its password from DEBEZIUM_MYSQL_PASSWORD (compose sets it; nothing is hard-coded here).
# `docker_process_sql` is the entrypoint's own client call (root over the socket of the temporary server).
debezium_password="${DEBEZIUM_MYSQL_PASSWORD:?DEBEZIUM_MYSQL_PASSWORD must be set}"
# a MySQL string literal: double the quotes and the backslashes
debezium_password="${debezium_password//\\/\\\\}"
debezium_password="${debezium_password//\'/\'\'}"
mysql_note "Creating the connector user debezium"
docker_process_sql --database=mysql <<EOSQL
CREATE USER IF NOT EXISTS 'debezium'@'%' IDENTIFIED BY '${debezium_password}';
GRANT SELECT, RELOAD, SHOW DATABASES, REPLICATION SLAVE, REPLICATION CLIENT, LOCK TABLES ON *.* TO 'debezium'@'%';
FLUSH PRIVILEGES;
EOSQL
unset debezium_password
