package erb

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Time is a Ruby Time. utc marks a time in UTC mode (Time#utc,
// Time.utc), which prints "UTC" where a local time prints its offset.
type Time struct {
	t   time.Time
	utc bool
}

// Date is a Ruby Date (require "date"): a day, without a time.
type Date struct{ t time.Time } // midnight UTC of the day

func newDate(y, m, d int) *Date {
	return &Date{t: time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)}
}

func (t *Time) String() string {
	if t.utc {
		return t.t.Format("2006-01-02 15:04:05 UTC")
	}
	return t.t.Format("2006-01-02 15:04:05 -0700")
}

func (t *Time) inspect() string {
	s := t.t.Format("2006-01-02 15:04:05")
	if ns := t.t.Nanosecond(); ns != 0 {
		s += strings.TrimRight(fmt.Sprintf(".%09d", ns), "0")
	}
	if t.utc {
		return s + " UTC"
	}
	return s + t.t.Format(" -0700")
}

func (d *Date) String() string { return d.t.Format("2006-01-02") }

// timeModule implements Time.now, Time.at, Time.utc/gm, Time.local/mktime,
// Time.new, Time.parse and Time.iso8601.
func (ev *evaluator) timeModule(name string, args []Value, n node) (Value, error) {
	switch name {
	case "now":
		if len(args) == 0 {
			return &Time{t: ev.opts.Now()}, nil
		}
	case "at":
		if len(args) == 1 || len(args) == 2 && isNumber(args[1]) {
			secs, ok := args[0].(int64)
			frac := 0.0
			if !ok {
				f, isFloat := args[0].(float64)
				if !isFloat {
					if t, isTime := args[0].(*Time); isTime {
						return &Time{t: t.t.Local()}, nil
					}
					return nil, typeErr(n, "can't convert %s into an exact number", className(args[0]))
				}
				whole := math.Floor(f)
				secs, frac = int64(whole), f-whole
			}
			if len(args) == 2 {
				frac += toFloat(args[1]) / 1e6 // microseconds
			}
			return &Time{t: time.Unix(secs, int64(math.Round(frac*1e9))).Local()}, nil
		}
	case "utc", "gm", "local", "mktime", "new":
		if name == "new" && len(args) == 0 {
			return &Time{t: ev.opts.Now()}, nil
		}
		parts := [6]int{0, 1, 1, 0, 0, 0}
		if len(args) == 0 || len(args) > 6 {
			break
		}
		for i, a := range args {
			v, ok := a.(int64)
			if !ok {
				if s, isStr := a.(string); isStr {
					if x, err := strconv.Atoi(s); err == nil {
						v, ok = int64(x), true
					}
				}
			}
			if !ok {
				return nil, unsupported(n)
			}
			parts[i] = int(v)
		}
		loc := time.Local
		utc := name == "utc" || name == "gm"
		if utc {
			loc = time.UTC
		}
		if parts[1] < 1 || parts[1] > 12 || parts[2] < 1 || parts[2] > 31 || parts[3] > 24 || parts[4] > 59 || parts[5] > 60 {
			return nil, argErr(n, "argument out of range")
		}
		return &Time{t: time.Date(parts[0], time.Month(parts[1]), parts[2], parts[3], parts[4], parts[5], 0, loc), utc: utc}, nil
	case "parse", "iso8601", "xmlschema":
		if len(args) != 1 {
			break
		}
		s, ok := args[0].(string)
		if !ok {
			return nil, typeErr(n, "no implicit conversion of %s into String", coerceName(args[0]))
		}
		t, utc, ok := parseTime(s)
		if !ok {
			if name == "parse" {
				return nil, argErr(n, "no time information in %s", inspectString(s))
			}
			return nil, argErr(n, "invalid xmlschema format: %s", inspectString(s))
		}
		return &Time{t: t, utc: utc}, nil
	}
	return nil, unsupported(n)
}

// timeLayouts are the spellings Time.parse and Date.parse read here.
var timeLayouts = []string{
	time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05 -0700", "2006-01-02 15:04:05 MST",
	"2006-01-02 15:04:05Z07:00", "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02",
	time.RFC1123Z, time.RFC1123, "Mon Jan _2 15:04:05 2006", "Jan 2 2006", "2 Jan 2006", "2006/01/02",
}

// parseTime reads the common date and time spellings; a time without a
// zone is local, as in Ruby.
func parseTime(s string) (time.Time, bool, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range timeLayouts {
		t, err := time.ParseInLocation(layout, s, time.Local)
		if err == nil {
			return t, strings.HasSuffix(s, "Z") || strings.HasSuffix(s, "UTC"), true
		}
	}
	return time.Time{}, false, false
}

func timeMethod(t *Time, name string, args []Value, n node) (Value, error) {
	tt := t.t
	switch len(args) {
	case 0:
		switch name {
		case "to_i", "tv_sec":
			return tt.Unix(), nil
		case "to_f":
			return float64(tt.UnixNano()) / 1e9, nil
		case "usec", "tv_usec":
			return int64(tt.Nanosecond() / 1000), nil
		case "nsec", "tv_nsec":
			return int64(tt.Nanosecond()), nil
		case "year":
			return int64(tt.Year()), nil
		case "month", "mon":
			return int64(tt.Month()), nil
		case "day", "mday":
			return int64(tt.Day()), nil
		case "hour":
			return int64(tt.Hour()), nil
		case "min":
			return int64(tt.Minute()), nil
		case "sec":
			return int64(tt.Second()), nil
		case "wday":
			return int64(tt.Weekday()), nil
		case "yday":
			return int64(tt.YearDay()), nil
		case "utc", "getutc", "gmtime", "getgm":
			return &Time{t: tt.UTC(), utc: true}, nil
		case "localtime", "getlocal":
			return &Time{t: tt.Local()}, nil
		case "utc?", "gmt?":
			return t.utc, nil
		case "utc_offset", "gmt_offset", "gmtoff":
			_, off := tt.Zone()
			return int64(off), nil
		case "zone":
			if t.utc {
				return "UTC", nil
			}
			z, _ := tt.Zone()
			return z, nil
		case "to_s":
			return t.String(), nil
		case "inspect":
			return t.inspect(), nil
		case "iso8601", "xmlschema":
			return iso8601(t, 0), nil
		case "to_date":
			return newDate(tt.Year(), int(tt.Month()), tt.Day()), nil
		case "to_time":
			return t, nil
		case "monday?", "tuesday?", "wednesday?", "thursday?", "friday?", "saturday?", "sunday?":
			return strings.EqualFold(tt.Weekday().String()+"?", name), nil
		}
	case 1:
		arg := args[0]
		switch name {
		case "strftime":
			f, ok := arg.(string)
			if !ok {
				return nil, typeErr(n, "no implicit conversion of %s into String", coerceName(arg))
			}
			return strftime(tt, t.utc, f), nil
		case "iso8601", "xmlschema":
			digits, ok := arg.(int64)
			if !ok || digits < 0 || digits > 9 {
				return nil, unsupported(n)
			}
			return iso8601(t, int(digits)), nil
		case "+", "-":
			if o, ok := arg.(*Time); ok && name == "-" {
				return float64(tt.Sub(o.t).Nanoseconds()) / 1e9, nil
			}
			if !isNumber(arg) {
				return nil, typeErr(n, "can't convert %s into an exact number", className(arg))
			}
			d := time.Duration(math.Round(toFloat(arg) * 1e9))
			if name == "-" {
				d = -d
			}
			return &Time{t: tt.Add(d), utc: t.utc}, nil
		case "round", "floor", "ceil":
			digits, ok := arg.(int64)
			if !ok || digits < 0 || digits > 9 {
				return nil, unsupported(n)
			}
			unit := time.Duration(math.Pow10(9 - int(digits)))
			switch name {
			case "floor":
				return &Time{t: tt.Truncate(unit), utc: t.utc}, nil
			case "ceil":
				if tt.Truncate(unit).Equal(tt) {
					return t, nil
				}
				return &Time{t: tt.Truncate(unit).Add(unit), utc: t.utc}, nil
			}
			return &Time{t: tt.Round(unit), utc: t.utc}, nil
		}
	}
	if name == "round" && len(args) == 0 {
		return &Time{t: tt.Round(time.Second), utc: t.utc}, nil
	}
	return nil, unsupported(n)
}

func iso8601(t *Time, digits int) string {
	layout := "2006-01-02T15:04:05"
	if digits > 0 {
		layout += "." + strings.Repeat("0", digits)
	}
	if t.utc {
		return t.t.Format(layout) + "Z"
	}
	return t.t.Format(layout + "-07:00")
}

// dateModule implements Date.today, Date.new, Date.parse, Date.iso8601
// and Date.valid_date?.
func (ev *evaluator) dateModule(name string, args []Value, n node) (Value, error) {
	switch name {
	case "today":
		if len(args) == 0 {
			now := ev.opts.Now()
			return newDate(now.Year(), int(now.Month()), now.Day()), nil
		}
	case "new", "civil", "valid_date?", "valid_civil?":
		parts := [3]int{-4712, 1, 1}
		if len(args) > 3 {
			break
		}
		for i, a := range args {
			v, ok := a.(int64)
			if !ok {
				return nil, typeErr(n, "invalid date (not numeric)")
			}
			parts[i] = int(v)
		}
		y, m, d := parts[0], parts[1], parts[2]
		if m < 0 {
			m += 13
		}
		if d < 0 {
			d += daysIn(y, m) + 1
		}
		valid := m >= 1 && m <= 12 && d >= 1 && d <= daysIn(y, m)
		if strings.HasPrefix(name, "valid") {
			return valid, nil
		}
		if !valid {
			return nil, raiseAt(n, "Date::Error", "invalid date")
		}
		return newDate(y, m, d), nil
	case "parse", "iso8601":
		if len(args) != 1 {
			break
		}
		s, ok := args[0].(string)
		if !ok {
			return nil, typeErr(n, "no implicit conversion of %s into String", coerceName(args[0]))
		}
		t, _, ok := parseTime(s)
		if !ok {
			return nil, raiseAt(n, "Date::Error", "invalid date")
		}
		return newDate(t.Year(), int(t.Month()), t.Day()), nil
	}
	return nil, unsupported(n)
}

func daysIn(y, m int) int {
	if m < 1 || m > 12 {
		return 0
	}
	return time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// addMonths is Date#>>: the same day k months later, or the last day of
// that month when it is shorter.
func (d *Date) addMonths(k int) *Date {
	y, m, day := d.t.Year(), int(d.t.Month())-1+k, d.t.Day()
	y += m / 12
	m %= 12
	if m < 0 {
		m += 12
		y--
	}
	if dim := daysIn(y, m+1); day > dim {
		day = dim
	}
	return newDate(y, m+1, day)
}

func dateMethod(d *Date, name string, args []Value, n node) (Value, error) {
	t := d.t
	switch len(args) {
	case 0:
		switch name {
		case "to_s", "iso8601", "xmlschema":
			return d.String(), nil
		case "inspect":
			return "#<Date: " + d.String() + ">", nil
		case "year":
			return int64(t.Year()), nil
		case "month", "mon":
			return int64(t.Month()), nil
		case "day", "mday":
			return int64(t.Day()), nil
		case "wday":
			return int64(t.Weekday()), nil
		case "yday":
			return int64(t.YearDay()), nil
		case "next_day", "succ", "next":
			return &Date{t: t.AddDate(0, 0, 1)}, nil
		case "prev_day":
			return &Date{t: t.AddDate(0, 0, -1)}, nil
		case "next_month":
			return d.addMonths(1), nil
		case "prev_month":
			return d.addMonths(-1), nil
		case "next_year":
			return d.addMonths(12), nil
		case "prev_year":
			return d.addMonths(-12), nil
		case "leap?":
			return daysIn(t.Year(), 2) == 29, nil
		case "to_date":
			return d, nil
		case "to_time":
			return &Time{t: time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.Local)}, nil
		case "beginning_of_month":
			return newDate(t.Year(), int(t.Month()), 1), nil
		case "end_of_month":
			return newDate(t.Year(), int(t.Month()), daysIn(t.Year(), int(t.Month()))), nil
		case "monday?", "tuesday?", "wednesday?", "thursday?", "friday?", "saturday?", "sunday?":
			return strings.EqualFold(t.Weekday().String()+"?", name), nil
		}
	case 1:
		arg := args[0]
		k, isInt := arg.(int64)
		switch name {
		case "strftime":
			f, ok := arg.(string)
			if !ok {
				return nil, typeErr(n, "no implicit conversion of %s into String", coerceName(arg))
			}
			return strftime(t, true, f), nil
		case "+", "next_day":
			if isInt {
				return &Date{t: t.AddDate(0, 0, int(k))}, nil
			}
		case "-", "prev_day":
			if isInt {
				return &Date{t: t.AddDate(0, 0, -int(k))}, nil
			}
		case ">>", "next_month":
			if isInt {
				return d.addMonths(int(k)), nil
			}
		case "<<", "prev_month":
			if isInt {
				return d.addMonths(-int(k)), nil
			}
		}
	}
	return nil, unsupported(n)
}

var monthNames = []string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
var dayNames = []string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}

// strftime is Ruby's strftime: flags - (no padding), _ (blanks), 0
// (zeros), ^ (upper case), # (swap case), a width, and the directives of
// Time#strftime. An unknown directive is copied as written, as Ruby does.
func strftime(t time.Time, utc bool, f string) string {
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		if f[i] != '%' || i+1 >= len(f) {
			b.WriteByte(f[i])
			continue
		}
		start := i
		i++
		var pad byte // 0: the directive's own
		upper, swap := false, false
		colons := 0
	flags:
		for ; i < len(f); i++ {
			switch f[i] {
			case '-':
				pad = '-'
			case '_':
				pad = ' '
			case '0':
				pad = '0'
			case '^':
				upper = true
			case '#':
				swap = true
			case ':':
				colons++
			default:
				break flags
			}
		}
		width := 0
		for i < len(f) && f[i] >= '0' && f[i] <= '9' {
			width = width*10 + int(f[i]-'0')
			if width > 1024 {
				width = 1024
			}
			i++
		}
		if i >= len(f) {
			b.WriteString(f[start:])
			break
		}
		num := func(v, w int, def byte) {
			if width > 0 {
				w = width
			}
			p := def
			if pad != 0 {
				p = pad
			}
			s := strconv.Itoa(abs(v))
			sign := ""
			if v < 0 {
				sign = "-"
			}
			if p != '-' && len(s)+len(sign) < w {
				if p == '0' {
					s = strings.Repeat("0", w-len(s)-len(sign)) + s
				} else {
					sign = strings.Repeat(" ", w-len(s)-len(sign)) + sign
				}
			}
			b.WriteString(sign + s)
		}
		// text writes a word; # upcases names and lowercases %p and %Z.
		text := func(s string) {
			switch {
			case upper:
				s = strings.ToUpper(s)
			case swap && (f[i] == 'Z' || f[i] == 'p'):
				s = strings.ToLower(s)
			case swap:
				s = strings.ToUpper(s)
			}
			if width > len(s) {
				p := " "
				if pad == '0' {
					p = "0"
				}
				s = strings.Repeat(p, width-len(s)) + s
			}
			b.WriteString(s)
		}
		hour12 := t.Hour() % 12
		if hour12 == 0 {
			hour12 = 12
		}
		year, week := t.ISOWeek()
		switch c := f[i]; c {
		case 'Y':
			num(t.Year(), 4, '0')
		case 'C':
			num(floorDiv(t.Year(), 100), 2, '0')
		case 'y':
			num(((t.Year()%100)+100)%100, 2, '0')
		case 'm':
			num(int(t.Month()), 2, '0')
		case 'B':
			text(monthNames[t.Month()-1])
		case 'b', 'h':
			text(monthNames[t.Month()-1][:3])
		case 'd':
			num(t.Day(), 2, '0')
		case 'e':
			num(t.Day(), 2, ' ')
		case 'j':
			num(t.YearDay(), 3, '0')
		case 'H':
			num(t.Hour(), 2, '0')
		case 'k':
			num(t.Hour(), 2, ' ')
		case 'I':
			num(hour12, 2, '0')
		case 'l':
			num(hour12, 2, ' ')
		case 'M':
			num(t.Minute(), 2, '0')
		case 'S':
			num(t.Second(), 2, '0')
		case 'L', 'N':
			digits := 3
			if c == 'N' {
				digits = 9
			}
			if width > 0 {
				digits = width
			}
			s := fmt.Sprintf("%09d", t.Nanosecond())
			if digits <= 9 {
				s = s[:digits]
			} else {
				s += strings.Repeat("0", digits-9)
			}
			b.WriteString(s)
		case 'z':
			_, off := t.Zone()
			sign := '+'
			if off < 0 {
				sign, off = '-', -off
			}
			h, m, sec := off/3600, off/60%60, off%60
			switch colons {
			case 0:
				fmt.Fprintf(&b, "%c%02d%02d", sign, h, m)
			case 1:
				fmt.Fprintf(&b, "%c%02d:%02d", sign, h, m)
			default:
				fmt.Fprintf(&b, "%c%02d:%02d:%02d", sign, h, m, sec)
			}
		case 'Z':
			if utc {
				text("UTC")
			} else {
				z, _ := t.Zone()
				text(z)
			}
		case 'A':
			text(dayNames[t.Weekday()])
		case 'a':
			text(dayNames[t.Weekday()][:3])
		case 'u':
			wd := int(t.Weekday())
			if wd == 0 {
				wd = 7
			}
			num(wd, 1, '0')
		case 'w':
			num(int(t.Weekday()), 1, '0')
		case 'p', 'P':
			s := "AM"
			if t.Hour() >= 12 {
				s = "PM"
			}
			if c == 'P' {
				s = strings.ToLower(s)
			}
			text(s)
		case 'G':
			num(year, 4, '0')
		case 'g':
			num(year%100, 2, '0')
		case 'V':
			num(week, 2, '0')
		case 'U':
			num((t.YearDay()+6-int(t.Weekday()))/7, 2, '0')
		case 'W':
			num((t.YearDay()+6-(int(t.Weekday())+6)%7)/7, 2, '0')
		case 's':
			b.WriteString(strconv.FormatInt(t.Unix(), 10))
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case '%':
			b.WriteByte('%')
		case 'c':
			text(strftime(t, utc, "%a %b %e %H:%M:%S %Y"))
		case 'D', 'x':
			text(strftime(t, utc, "%m/%d/%y"))
		case 'F':
			text(strftime(t, utc, "%Y-%m-%d"))
		case 'r':
			text(strftime(t, utc, "%I:%M:%S %p"))
		case 'R':
			text(strftime(t, utc, "%H:%M"))
		case 'T', 'X':
			text(strftime(t, utc, "%H:%M:%S"))
		case 'v':
			text(strftime(t, utc, "%e-%^b-%4Y"))
		case '+':
			text(strftime(t, utc, "%a %b %e %H:%M:%S %Z %Y"))
		default:
			b.WriteString(f[start : i+1])
		}
	}
	return b.String()
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
