package erb

import "testing"

// TestNumbers: expected values are Ruby's (Float#to_s, Float#round,
// Integer#**, Array#sum, Numeric#step as documented).
func TestNumbers(t *testing.T) {
	runCases(t, []renderCase{
		{name: "float literals", src: `<%= 1.5 %> <%= 1.0 %> <%= 1_000.5 %> <%= 1e3 %> <%= 1.5e-3 %> <%= -0.25 %>`, want: "1.5 1.0 1000.5 1000.0 0.0015 -0.25"},
		{name: "ratio from env", src: `<%= ENV.fetch("RATIO", "0.5").to_f * 2 %>`, want: "1.0"},
		{name: "ratio set", src: `<%= ENV.fetch("RATIO", "0.5").to_f * 2 %>`, env: map[string]string{"RATIO": "0.75"}, want: "1.5"},
		{name: "float to_s fixed and exponent", src: `<%= 1e15 %> <%= 1e16 %> <%= 1e20 %> <%= 0.0001 %> <%= 0.00001 %> <%= 1.23456789e-7 %> <%= 100.0 %>`,
			want: "1000000000000000.0 1.0e+16 1.0e+20 0.0001 1.0e-05 1.23456789e-07 100.0"},
		{name: "float arithmetic", src: `<%= 0.1 + 0.2 %> <%= 1.0 / 3 %> <%= 7 / 2.0 %> <%= 2.0 * 3 %> <%= 10 - 0.5 %> <%= 7.fdiv(2) %>`,
			want: "0.30000000000000004 0.3333333333333333 3.5 6.0 9.5 3.5"},
		{name: "float specials", src: `<%= 1.0 / 0 %> <%= -1.0 / 0 %> <%= (0.0 / 0.0).nan? %> <%= -0.0 %> <%= (1 / 0.0).infinite? %>`, want: "Infinity -Infinity true -0.0 1"},
		{name: "float modulo and divmod", src: `<%= -7.5 % 2 %> <%= 7.5 % -2 %> <%= 7.5.divmod(2) %> <%= -7.divmod(2) %> <%= 10.divmod(3) %>`, want: "0.5 -0.5 [3, 1.5] [-4, 1] [3, 1]"},
		{name: "power", src: `<%= 2 ** 10 %> <%= 2 ** 0.5 %> <%= -2 ** 2 %> <%= (-2) ** 2 %> <%= 2 ** 3 ** 2 %> <%= 2.0 ** -1 %> <%= 4 ** 0.5 %> <%= 10 ** 18 %>`,
			want: "1024 1.4142135623730951 -4 4 512 0.5 2.0 1000000000000000000"},
		{name: "power to a rational", src: `<%= 2 ** -1 %>`, err: "config/deploy.yml:1: unsupported Ruby in ERB: 2 ** -1"},
		{name: "power overflow", src: `<%= 2 ** 64 %>`, err: "config/deploy.yml:1: unsupported Ruby in ERB: 2 ** 64"},
		{name: "round", src: `<%= 3.14159.round(2) %> <%= 2.5.round %> <%= -2.5.round %> <%= 2.675.round(2) %> <%= 12345.6789.round(-2) %> <%= 1.5.round.class %>`,
			want: "3.14 3 -3 2.68 12300 Integer"},
		{name: "round half even", src: `<%= 2.5.round(half: :even) %> <%= 3.5.round(half: :even) %> <%= 25.round(-1, half: :even) %> <%= 25.round(-1) %> <%= 2.5.round(half: :down) %>`, want: "2 4 20 30 2"},
		{name: "floor ceil truncate", src: `<%= 1.5.floor %> <%= -1.5.ceil %> <%= 1.23456.floor(2) %> <%= 1.23456.ceil(2) %> <%= 1.5.to_i %> <%= -1.9.to_i %> <%= -1.9.truncate %> <%= 15.floor(-1) %>`,
			want: "1 -1 1.23 1.24 1 -1 -1 10"},
		{name: "Float()", src: `<%= Float("1.5") %> <%= Float(" 2 ") %> <%= Float(3) %> <%= Float("1e3") %> <%= Float("0x1A") %>`, want: "1.5 2.0 3.0 1000.0 26.0"},
		{name: "Float() invalid", src: `<%= Float("1.5x") %>`, err: `config/deploy.yml:1: invalid value for Float(): "1.5x"`},
		{name: "Float(nil)", src: `<%= Float(nil) %>`, err: "config/deploy.yml:1: can't convert nil into Float"},
		{name: "to_f", src: `<%= "1e3".to_f %> <%= "abc".to_f %> <%= " 2.5kg".to_f %> <%= "1_000.5".to_f %> <%= ".5".to_f %> <%= nil.to_f %> <%= 3.to_f %>`, want: "1000.0 0.0 2.5 1000.5 0.5 0.0 3.0"},
		{name: "Integer() of a float", src: `<%= Integer(3.99) %> <%= Integer(-3.99) %>`, want: "3 -3"},
		{name: "integer literals", src: `<%= 0x10 %> <%= 010 %> <%= 0b101 %> <%= 0o17 %> <%= 0d19 %> <%= 0xff_ff %> <%= -0x10 %>`, want: "16 8 5 15 19 65535 -16"},
		{name: "invalid octal", src: `<%= 08 %>`, err: "config/deploy.yml:1: unsupported Ruby in ERB: 08"},
		{name: "mixed comparisons", src: `<%= 1 == 1.0 %> <%= 1 < 1.5 %> <%= [1, 2.5, 0.5].max %> <%= [3, 1.5].sort %> <%= 2.0 <=> 1 %> <%= 1.eql?(1) %>`, want: "true true 2.5 [1.5, 3] 1 true"},
		{name: "sum", src: `<%= [1, 2.5].sum %> <%= [0.1, 0.2, 0.3].sum %> <%= 0.1 + 0.2 + 0.3 %> <%= [1, 2].sum %>`, want: "3.5 0.6 0.6000000000000001 3"},
		{name: "integer methods", src: `<%= 5.clamp(1, 3) %> <%= 5.between?(1, 10) %> <%= 255.to_s(16) %> <%= 12.gcd(8) %> <%= 1234.digits %> <%= 6 & 3 %> <%= 6 | 3 %> <%= 6 ^ 3 %> <%= 1 << 4 %> <%= 5.pred %>`,
			want: "3 true ff 4 [4, 3, 2, 1] 2 7 5 16 4"},
		{name: "upto downto", src: `<% 1.upto(3) do |i| %><%= i %><% end %> <% 3.downto(1) { |i| %><%= i %><% } %> <%= 1.upto(3).to_a %>`, want: "123 321 [1, 2, 3]"},
		{name: "step", src: `<% 1.step(10, 4) { |i| %><%= i %> <% } %><%= 10.step(1, -3).to_a %> <%= 1.0.step(2.0, 0.5).to_a %> <%= 0.step(1, 0.25).map { |f| f } %> <%= 1.step(by: 2, to: 5).to_a %>`,
			want: "1 5 9 [10, 7, 4, 1] [1.0, 1.5, 2.0] [0.0, 0.25, 0.5, 0.75, 1.0] [1, 3, 5]"},
		{name: "times without block", src: `<%= 5.times.map { |i| i * 2 } %>`, want: "[0, 2, 4, 6, 8]"},
		{name: "float json and inspect", src: `<%= [1.5, 2.0].to_json %> <%= {1.5 => "a"} %> <%= 2.5.inspect %>`, want: `[1.5,2.0] {1.5 => "a"} 2.5`},
		{name: "float hash keys", src: `<% h = {1.0 => "f"} %><%= h[1.0] %>|<%= h[1].inspect %>`, want: "f|nil"},
		{name: "float coerce error", src: `<%= 1.5 + "a" %>`, err: "config/deploy.yml:1: String can't be coerced into Float"},
		{name: "float to_i of NaN", src: `<%= (0.0 / 0).to_i %>`, err: "config/deploy.yml:1: NaN"},
	})
}
