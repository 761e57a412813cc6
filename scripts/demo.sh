#!/usr/bin/env bash
# Shows sfdbtools doing its main job: a throwaway MariaDB with a sample database is backed up
# (compressed + encrypted), verified, restored under another name with the parallel restore,
# and both databases are compared (by sfdbtools verify --against and by CHECKSUM TABLE). Installs MariaDB with apt when missing; never touches a
# server that is already running.
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d /tmp/sfdb-demo.XXXXXX)
trap 'scripts/sandbox.sh stop "$work/server" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

echo "== building sfdbtools (release; the first build takes 10-25 minutes on two cores)"
cargo build --release
bin=${CARGO_TARGET_DIR:-target}/release/sfdbtools

echo "== starting a throwaway MariaDB in $work/server"
info=$(scripts/sandbox.sh start "$work/server")
port=$(sed -n 's/.*port=\([0-9]*\).*/\1/p' <<<"$info")
sql() { mariadb --no-defaults --default-character-set=utf8mb4 -uroot -h127.0.0.1 -P"$port" --protocol=TCP "$@"; }

echo "== creating the sample database 'shop'"
sql -e "CREATE DATABASE shop"
sql shop <<'SQL'
CREATE TABLE customers (id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(100), email VARCHAR(200),
  created TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), photo BLOB);
CREATE TABLE orders (id BIGINT PRIMARY KEY AUTO_INCREMENT, customer_id INT NOT NULL,
  total DECIMAL(12,2), weight FLOAT, note TEXT,
  FOREIGN KEY (customer_id) REFERENCES customers(id));
CREATE SEQUENCE invoice_no START WITH 1000;
CREATE TABLE invoices (no INT DEFAULT NEXTVAL(invoice_no), order_id BIGINT);
CREATE VIEW big_orders AS SELECT id, total FROM orders WHERE total > 500;
INSERT INTO customers (name, email, photo) VALUES
  ('Zoë O''Brien', 'zoe@example.com', 0x89504E470D0A1A0A00FF),
  ('José 🚀', 'jose@example.com', NULL), ('Back\\slash "quoted"', '', '');
INSERT INTO orders (customer_id, total, weight, note)
  SELECT 1 + seq % 3, (seq * 37) % 1000 + 0.99, seq / 7, CONCAT('order line ', seq, '\n')
  FROM seq_1_to_20000;
INSERT INTO invoices (order_id) SELECT seq FROM seq_1_to_100;
SQL
sql -N -e "SELECT CONCAT('   ', COUNT(*), ' orders, ', (SELECT COUNT(*) FROM shop.customers), ' customers') FROM shop.orders"

echo "== sfdbtools db-backup single --database shop -c zstd (encrypted)"
# Not -q: each table as it is written, then the summary (off a terminal these are lines, on
# one a bar per table). The JSON log of the same run is kept to show what machines get.
export SFDB_BACKUP_ENCRYPTION_KEY="demo passphrase"
"$bin" db-backup single --database shop --host 127.0.0.1 --port "$port" --user root \
  -o "$work/backups" -t DEMO-1 -c zstd --log-file "$work/run.log" </dev/null
echo "   the last line of its JSON log (--log-file):"
tail -n1 "$work/run.log" | cut -c1-160 | sed 's/^/   /'
ls -l "$work/backups"
echo "   metadata (first lines):"
head -n 20 "$work"/backups/*.meta.json | sed 's/^/   /'

echo "== the same without compression/encryption, to show the SQL it writes"
"$bin" db-backup single --database shop --host 127.0.0.1 --port "$port" --user root \
  -o "$work/plain" -t DEMO-2 -c none --skip-encrypt -q
grep -m3 -E '^(CREATE TABLE|INSERT INTO `customers`|DO SETVAL)' "$work"/plain/*.sql | cut -c1-160

dump=$(ls "$work"/backups/*.sql.zst.enc)
echo "== sfdbtools verify --file $(basename "$dump")"
"$bin" verify --file "$dump"

echo "== sfdbtools db-restore single: the encrypted file into 'shop_copy' (-j 2)"
"$bin" db-restore single --file "$dump" --target-db shop_copy --host 127.0.0.1 --port "$port" \
  --user root -t DEMO-3 -j 2 </dev/null
for t in customers orders invoices; do
  a=$(sql -N -e "CHECKSUM TABLE shop.$t EXTENDED" | cut -f2)
  b=$(sql -N -e "CHECKSUM TABLE shop_copy.$t EXTENDED" | cut -f2)
  printf '   %-10s source %-12s restored %-12s %s\n' "$t" "$a" "$b" "$([ "$a" = "$b" ] && echo same || echo DIFFERENT)"
done

echo "== sfdbtools verify --against shop_copy: row counts and checksums of the restored database"
"$bin" -q verify --file "$dump" --against shop_copy --host 127.0.0.1 --port "$port" --user root
echo "== done (the server and files in $work are removed on exit)"
