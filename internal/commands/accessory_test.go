package commands

import "testing"

func TestAccessoryFollowLogsOptions(t *testing.T) {
	cfg := load(t, "full/deploy.yml", "")
	redis := NewAccessory(cfg, acc(t, cfg, "redis"))
	check(t, []cmdCase{
		{"default is Kamal's", redis.FollowLogs(LogOptions{}), `docker logs app-redis --timestamps --tail 10 --follow 2>&1`},
		{"lines", redis.FollowLogs(LogOptions{Lines: 50}), `docker logs app-redis --timestamps --tail 50 --follow 2>&1`},
		{"since alone has no tail", redis.FollowLogs(LogOptions{Since: "5m"}), `docker logs app-redis --timestamps --since 5m --follow 2>&1`},
		{"since and lines", redis.FollowLogs(LogOptions{Since: "2026-01-02T13:23:37Z", Lines: 3, NoTimestamp: true}), `docker logs app-redis --since 2026-01-02T13:23:37Z --tail 3 --follow 2>&1`},
		{"since quoted", redis.FollowLogs(LogOptions{Since: "5m; rm -rf /"}), `docker logs app-redis --timestamps --since '5m; rm -rf /' --follow 2>&1`},
	})
}
