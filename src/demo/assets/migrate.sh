# The demo's migration: the second migration cannot take its lock, so the job fails.
service="$1"
env="$2"
echo "connecting to the $service database in $env"
sleep 0.3
echo "applying 0041_add_orders_index ... ok"
sleep 0.3
echo "applying 0042_backfill_totals ..."
echo "ERROR: lock timeout on table orders (held by a long-running report)" >&2
exit 1
