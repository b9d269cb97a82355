package erb

import "testing"

// TestTimeAndDate: Time.at, Time.now.utc, Date.today and strftime as Ruby
// documents them. The test clock is 2026-03-04 05:06:07.008 UTC, a
// Wednesday.
func TestTimeAndDate(t *testing.T) {
	runCases(t, []renderCase{
		{name: "Time.at", src: `<%= Time.at(0).utc %> <%= Time.at(1700000000).utc.strftime("%Y-%m-%d %H:%M:%S") %> <%= Time.at(1.5).utc.usec %>`, want: "1970-01-01 00:00:00 UTC 2023-11-14 22:13:20 500000"},
		{name: "Time.now.utc", src: `<%= Time.now.utc.strftime("%Y%m%d%H%M%S") %> <%= Time.now.utc.iso8601(3) %> <%= Time.now.utc.inspect %> <%= Time.now.utc.utc? %>`,
			want: "20260304050607 2026-03-04T05:06:07.008Z 2026-03-04 05:06:07.008 UTC true"},
		{name: "arithmetic", src: `<%= (Time.now.utc + 3600).hour %> <%= (Time.now.utc - 86400).day %> <%= (Time.now - Time.at(0)).class %> <%= Time.now > Time.at(0) %>`, want: "6 3 Float true"},
		{name: "Time.utc and parse", src: `<%= Time.utc(2024, 1, 2, 3, 4, 5) %> <%= Time.parse("2024-05-06 07:08:09 UTC").utc.hour %> <%= Time.iso8601("2024-01-02T03:04:05Z").utc? %> <%= Time.utc(2024, 2).day %>`,
			want: "2024-01-02 03:04:05 UTC 7 true 1"},
		{name: "strftime flags", src: `<%= Time.now.utc.strftime("%-d/%-m %^a %#b %_5Y %3N %:z %j %e %-I%P %#p") %>`, want: "4/3 WED MAR  2026 008 +00:00 063  4 5am am"},
		{name: "strftime weeks and composites", src: `<%= Time.now.utc.strftime("%U %W %V %G %u %w|%c|%F %T|%D|%r|%R|%v|%s") %>`,
			want: "09 09 10 2026 3 3|Wed Mar  4 05:06:07 2026|2026-03-04 05:06:07|03/04/26|05:06:07 AM|05:06|" + " 4-MAR-2026|1772600767"},
		{name: "Date.today", src: `<% require "date" %><%= Date.today %> <%= Date.today.strftime("%d.%m.%Y") %> <%= Date.today + 1 %> <%= Date.today - 4 %> <%= Date.today.iso8601 %> <%= Date.today.wday %> <%= Date.today.wednesday? %>`,
			want: "2026-03-04 04.03.2026 2026-03-05 2026-02-28 2026-03-04 3 true"},
		{name: "Date months", src: `<%= Date.new(2024, 1, 31) >> 1 %> <%= Date.new(2024, 3, 31).prev_month %> <%= Date.new(2024, 12, 15).next_month %> <%= Date.new(2024, 2, -1) %> <%= Date.valid_date?(2023, 2, 29) %> <%= Date.parse("2024-07-01").yday %>`,
			want: "2024-02-29 2024-02-29 2025-01-15 2024-02-29 false 183"},
		{name: "invalid date", src: `<%= Date.new(2024, 2, 30) %>`, err: "config/deploy.yml:1: invalid date"},
		{name: "date comparison", src: `<%= Date.new(2024, 1, 1) < Date.today %> <%= Date.new(2024, 1, 1) == Date.parse("2024-01-01") %> <%= Date.today.to_time.class %>`, want: "true true Time"},
	})
}
