# The demo's restart: three instances, one at a time, with a health check after each.
service="$1"
env="$2"
if [ "$3" = "--dry-run" ]; then
  echo "would restart $service-1 to $service-4 in $env, one at a time"
  exit 0
fi
echo "restarting $service in $env: 4 instances, one at a time"
for i in 1 2 3 4; do
  sleep 1
  echo "$service-$i drained, restarted, healthy ($i/4)"
done
echo "done: $service restarted in $env"
