package erb

import "testing"

// TestRescue: begin/rescue/else/ensure and the rescue modifier catch
// Ruby exceptions by class, as Ruby does; code outside the subset and
// runaway templates are not exceptions and are not caught.
func TestRescue(t *testing.T) {
	runCases(t, []renderCase{
		{name: "modifier", src: `<%= ENV.fetch("NOPE") rescue "dev" %> <%= File.read("no-such-file").strip rescue "none" %>`, want: "dev none"},
		{name: "modifier in an assignment", src: `<% v = Integer("x") rescue 0 %><%= v %> <% w = nil; w ||= raise("x") rescue "d" %><%= w %>`, want: "0 d"},
		{name: "begin rescue", src: "<%\n  begin\n    n = Integer(ENV.fetch(\"PORT\"))\n  rescue KeyError\n    n = 80\n  rescue ArgumentError => e\n    n = e.message\n  end\n%><%= n %>", want: "80"},
		{name: "begin rescue binds the exception", src: `<% begin; Integer("x1"); rescue ArgumentError, TypeError => e; %><%= e.class %>: <%= e.message %> <%= e.inspect %><% end %>`,
			want: `ArgumentError: invalid value for Integer(): "x1" #<ArgumentError: invalid value for Integer(): "x1">`},
		{name: "hierarchy", src: `<% begin; nil.upcase; rescue NameError => e; %><%= e.class %><% end %> <% begin; {}.fetch(:a); rescue IndexError; %>i<% end %> <% begin; File.read("nope"); rescue SystemCallError => e; %><%= e.class %><% end %>`,
			want: "NoMethodError i Errno::ENOENT"},
		{name: "else and ensure", src: `<% out = [] %><% begin; out << 1; rescue; out << 2; else; out << 3; ensure; out << 4; end %><%= out %> <% begin; raise "x"; rescue; out << 5; ensure; out << 6; end %><%= out %>`,
			want: "[1, 3, 4] [1, 3, 4, 5, 6]"},
		{name: "not rescued goes on", src: `<% begin; raise ArgumentError, "bad"; rescue KeyError; end %>`, err: "config/deploy.yml:1: bad"},
		{name: "re-raise", src: `<% begin; raise "first"; rescue => e; raise; end %>`, err: "config/deploy.yml:1: first"},
		{name: "raise an exception object", src: `<% e = ArgumentError.new("made") %><% raise e %>`, err: "config/deploy.yml:1: made"},
		{name: "method body rescue", src: `<% def port; Integer(ENV["PORT"]); rescue TypeError; 3000; end %><%= port %>`, want: "3000"},
		{name: "current exception", src: `<% begin; raise "boom"; rescue; %><%= $!.message %><% end %>[<%= $!.inspect %>]`, want: "boom[nil]"},
		{name: "unsupported code is not rescued", src: `<%= Rails.env rescue "x" %>`, err: "config/deploy.yml:1: unsupported Ruby in ERB: Rails.env"},
		{name: "runaway is not rescued", src: `<% begin; loop { }; rescue; end %>`, err: "config/deploy.yml:1: template does too much work (more than 1000000 steps)"},
		{name: "StandardError does not catch SystemStackError", src: `<% def f = f %><% begin; f; rescue; end %>`, err: "config/deploy.yml:1: stack level too deep"},
	})
}
