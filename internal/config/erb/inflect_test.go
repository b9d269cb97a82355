package erb

import "testing"

// TestInflections: ActiveSupport's String inflections, with the examples
// of its documentation.
func TestInflections(t *testing.T) {
	runCases(t, []renderCase{
		{name: "camelize", src: `<%= "active_model".camelize %> <%= "active_model".camelize(:lower) %> <%= "active_model/errors".camelize %> <%= "foo-bar".camelize %> <%= "foo_BAR".camelize %>`,
			want: "ActiveModel activeModel ActiveModel::Errors Foo-bar FooBar"},
		{name: "underscore dasherize", src: `<%= "ActiveModel".underscore %> <%= "ActiveModel::Errors".underscore %> <%= "HTTPServer".underscore %> <%= "puni_puni".dasherize %> <%= "my-app".underscore %>`,
			want: "active_model active_model/errors http_server puni-puni my_app"},
		{name: "titleize", src: `<%= "man from the boondocks".titleize %>|<%= "x-men: the last stand".titleize %>|<%= "TheManWithoutAPast".titleize %>|<%= "raiders_of_the_lost_ark".titleize %>|<%= "string_ending_with_id".titleize %>|<%= "hello's world".titleize %>`,
			want: "Man From The Boondocks|X Men: The Last Stand|The Man Without A Past|Raiders Of The Lost Ark|String Ending With|Hello's World"},
		{name: "humanize", src: `<%= "employee_salary".humanize %>|<%= "author_id".humanize %>|<%= "author_id".humanize(capitalize: false) %>|<%= "_id".humanize %>`, want: "Employee salary|Author|author|Id"},
		{name: "parameterize", src: `<%= "Donald E. Knuth".parameterize %>|<%= "^très|Jolie-- ".parameterize %>|<%= "Feature/ABC_1 (beta)".parameterize %>|<%= "Donald E. Knuth".parameterize(separator: "_") %>|<%= "Donald E. Knuth".parameterize(preserve_case: true) %>|<%= "Straße 日本".parameterize %>`,
			want: "donald-e-knuth|tres-jolie|feature-abc_1-beta|donald_e_knuth|Donald-E-Knuth|strasse"},
		{name: "pluralize", src: `<%= "post".pluralize %> <%= "octopus".pluralize %> <%= "sheep".pluralize %> <%= "words".pluralize %> <%= "CamelOctopus".pluralize %> <%= "person".pluralize %> <%= "Person".pluralize %> <%= "box".pluralize %> <%= "query".pluralize %> <%= "knife".pluralize %> <%= "apple".pluralize(1) %> <%= "apple".pluralize(2) %> <%= "salesperson".pluralize %>`,
			want: "posts octopi sheep words CamelOctopi people People boxes queries knives apple apples salespeople"},
		{name: "singularize", src: `<%= "posts".singularize %> <%= "octopi".singularize %> <%= "sheep".singularize %> <%= "word".singularize %> <%= "people".singularize %> <%= "queries".singularize %> <%= "analyses".singularize %>`,
			want: "post octopus sheep word person query analysis"},
		{name: "inquiry", src: `<% env = ENV.fetch("RAILS_ENV", "production").inquiry %><%= env.production? %> <%= env.staging? %> <%= env %> <%= env == "production" %> <%= env.upcase %> <%= env.empty? %> <%= {env => 1}["production"] %>`,
			want: "true false production true PRODUCTION false 1"},
		{name: "squish", src: `<%= "  foo   bar \n \t  boo".squish %>`, want: "foo bar boo"},
	})
}
