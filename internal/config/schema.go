package config

// The schema mirrors Kamal's documentation examples, which Kamal itself uses
// as its validation schema: each key's example value decides the accepted
// type. Keys are kept in documentation order (it is also the order unknown
// keys are checked against, which does not matter, and the order `kamal docs`
// prints sections in).

type stype int

const (
	tString      stype = iota // string, symbol, number or boolean
	tInt                      // integer
	tBool                     // true/false
	tSection                  // "...": a hash validated by its own section rules
	tServers                  // "..." for servers: array or hash
	tStringArray              // array of strings
	tHash                     // nested hash validated against fields
	tAnyHash                  // options/args: any hash
	tLabels                   // hash of strings
	tSSL                      // bool or hash
	tHooksOutput              // string/symbol or hash of them
	tHosts                    // list of "host" or {host: tag|[tags]}
	tArch                     // string or array of strings
	tSSHConfig                // bool, string or array of strings
	tPaths                    // list of strings or {local, remote, mode, owner, options}
)

type field struct {
	name   string
	typ    stype
	fields []field // for tHash
}

func f(name string, t stype) field { return field{name: name, typ: t} }

func h(name string, fields ...field) field { return field{name: name, typ: tHash, fields: fields} }

var rootSchema = []field{
	f("service", tString),
	f("image", tString),
	f("labels", tLabels),
	f("volumes", tStringArray),
	f("registry", tSection),
	f("servers", tServers),
	f("env", tSection),
	f("asset_path", tString),
	f("hooks_path", tString),
	f("hooks_output", tHooksOutput),
	f("secrets_path", tString),
	f("error_pages_path", tString),
	f("require_destination", tBool),
	f("primary_role", tString),
	f("allow_empty_roles", tBool),
	f("retain_containers", tInt),
	f("minimum_version", tString),
	f("readiness_delay", tInt),
	f("deploy_timeout", tInt),
	f("drain_timeout", tInt),
	f("stop_timeout", tInt),
	f("run_directory", tString),
	f("ssh", tSection),
	f("builder", tSection),
	f("accessories", tSection),
	f("proxy", tSection),
	f("sshkit", tSection),
	f("boot", tSection),
	f("logging", tSection),
	f("output", tSection),
	f("aliases", tSection),
}

var roleSchema = []field{
	f("hosts", tHosts),
	f("cmd", tString),
	f("stop_timeout", tInt),
	f("options", tAnyHash),
	f("logging", tSection),
	f("proxy", tSection),
	f("labels", tLabels),
	f("env", tSection),
	f("asset_path", tString),
}

var registrySchema = []field{
	f("server", tString),
	// username and password are checked separately (string or [SECRET]).
}

var accessorySchema = []field{
	f("service", tString),
	f("image", tString),
	f("registry", tSection),
	f("host", tString),
	f("hosts", tStringArray),
	f("role", tString),
	f("roles", tStringArray),
	f("tag", tString),
	f("tags", tStringArray),
	f("cmd", tString),
	f("port", tString),
	f("labels", tLabels),
	f("options", tAnyHash),
	f("env", tSection),
	f("files", tPaths),
	f("directories", tPaths),
	f("volumes", tStringArray),
	f("network", tString),
	f("proxy", tSection),
}

var proxySchema = []field{
	f("host", tString),
	f("hosts", tStringArray),
	f("app_port", tInt),
	f("ssl", tSSL),
	f("ssl_redirect", tBool),
	f("forward_headers", tBool),
	f("response_timeout", tInt),
	f("path_prefix", tString),
	f("path_prefixes", tStringArray),
	f("strip_path_prefix", tBool),
	h("healthcheck", f("interval", tInt), f("path", tString), f("timeout", tInt)),
	h("buffering", f("requests", tBool), f("responses", tBool), f("max_request_body", tInt), f("max_response_body", tInt), f("memory", tInt)),
	h("logging", f("request_headers", tStringArray), f("response_headers", tStringArray)),
	h("run",
		f("http_port", tInt), f("https_port", tInt), f("metrics_port", tInt), f("debug", tBool),
		f("log_max_size", tString), f("publish", tBool), f("bind_ips", tStringArray),
		f("registry", tString), f("repository", tString), f("version", tString), f("options", tAnyHash)),
}

var sslSchema = []field{
	f("certificate_pem", tString),
	f("private_key_pem", tString),
}

var builderSchema = []field{
	f("driver", tString),
	f("arch", tArch),
	f("remote", tString),
	f("local", tBool),
	h("pack", f("builder", tString), f("buildpacks", tStringArray)),
	h("cache", f("type", tString), f("options", tString), f("image", tString)),
	f("context", tString),
	f("dockerfile", tString),
	f("target", tString),
	f("args", tAnyHash),
	f("secrets", tStringArray),
	f("ssh", tString),
	f("provenance", tString),
	f("sbom", tString),
}

var sshSchema = []field{
	f("user", tString),
	f("port", tString),
	f("proxy", tString),
	f("proxy_command", tString),
	f("log_level", tString),
	f("keys_only", tBool),
	f("keys", tStringArray),
	f("key_data", tStringArray),
	f("config", tSSHConfig),
	f("forward_agent", tBool),
}

var sshkitSchema = []field{
	f("max_concurrent_starts", tInt),
	f("pool_idle_timeout", tInt),
	f("dns_retries", tInt),
}

var bootSchema = []field{
	f("limit", tString),
	f("wait", tInt),
	f("parallel_roles", tBool),
}

var loggingSchema = []field{
	f("driver", tString),
	f("options", tAnyHash),
}

var outputSchema = []field{
	h("otel", f("endpoint", tString)),
	h("file", f("path", tString)),
}

func lookupField(fields []field, name string) (field, bool) {
	for _, fl := range fields {
		if fl.name == name {
			return fl, true
		}
	}
	return field{}, false
}
