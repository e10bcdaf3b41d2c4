// Command helm-render renders a chart the way `helm template` does, from the
// pieces Helm itself is built on: Go's text/template, sprig's function
// library, sigs.k8s.io/yaml and gojsonschema (the schema library of Helm 3 up
// to 3.17). Helm cannot be installed on the machines this project builds on;
// Debian packages these libraries, so the renderer builds offline:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o helm-render ./tools/helm-render
//
// Usage, as helm template (flags may stand before or after the arguments):
//
//	helm-render [flags] RELEASE CHART_DIR
//	  -f, --values FILE       values file (repeatable; later files win)
//	  --set a.b=c             Helm's --set syntax (repeatable)
//	  --set-string a.b=c      the same, every value a string
//	  -n, --namespace NS      .Release.Namespace (default "default")
//	  -a, --api-versions V    extra .Capabilities.APIVersions (repeatable, comma separated)
//	  --kube-version V        .Capabilities.KubeVersion (default v1.31.0)
//	  --is-upgrade            .Release.IsUpgrade instead of IsInstall
//	  --notes                 print the rendered NOTES.txt after the manifests, after a "NOTES:" line
//
// What it does not do: subcharts (it refuses a chart with dependencies),
// hooks' special handling beyond printing them last, `helm lint`'s own checks,
// and anything that needs a cluster (lookup returns an empty map, as with
// helm template).
package main

import (
	"fmt"
	"os"
	"strings"
)

type options struct {
	release     string
	chartDir    string
	namespace   string
	valueFiles  []string
	sets        []string
	setStrings  []string
	apiVersions []string
	kubeVersion string
	isUpgrade   bool
	notes       bool
}

func main() {
	opts, err := parseArgs(os.Args[1:])
	if err == nil {
		var out string
		out, err = run(opts)
		if err == nil {
			fmt.Print(out)
			return
		}
	}
	// Helm's own CLI prints errors this way.
	fmt.Fprintf(os.Stderr, "Error: %s\n", err)
	os.Exit(1)
}

func parseArgs(args []string) (options, error) {
	opts := options{namespace: "default", kubeVersion: defaultKubeVersion}
	var positional []string
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if !strings.HasPrefix(arg, "-") || arg == "-" {
			positional = append(positional, arg)
			continue
		}
		name, value, hasValue := strings.Cut(arg, "=")
		takeValue := func() (string, error) {
			if hasValue {
				return value, nil
			}
			if i+1 >= len(args) {
				return "", fmt.Errorf("flag needs an argument: %s", name)
			}
			i++
			return args[i], nil
		}
		var err error
		var v string
		switch name {
		case "-f", "--values":
			v, err = takeValue()
			opts.valueFiles = append(opts.valueFiles, v)
		case "--set":
			v, err = takeValue()
			opts.sets = append(opts.sets, v)
		case "--set-string":
			v, err = takeValue()
			opts.setStrings = append(opts.setStrings, v)
		case "-n", "--namespace":
			opts.namespace, err = takeValue()
		case "-a", "--api-versions":
			v, err = takeValue()
			for _, version := range strings.Split(v, ",") {
				if version = strings.TrimSpace(version); version != "" {
					opts.apiVersions = append(opts.apiVersions, version)
				}
			}
		case "--kube-version":
			opts.kubeVersion, err = takeValue()
		case "--is-upgrade":
			opts.isUpgrade = true
		case "--notes":
			opts.notes = true
		default:
			return opts, fmt.Errorf("unknown flag: %s", name)
		}
		if err != nil {
			return opts, err
		}
	}
	if len(positional) != 2 {
		return opts, fmt.Errorf("expected RELEASE and CHART_DIR, got %d arguments", len(positional))
	}
	opts.release, opts.chartDir = positional[0], positional[1]
	return opts, nil
}

func run(opts options) (string, error) {
	c, err := loadChart(opts.chartDir)
	if err != nil {
		return "", err
	}
	user, err := userValues(opts)
	if err != nil {
		return "", err
	}
	values := coalesceValues(c.values, user)
	if c.schema != nil {
		if err := validateSchema(c.metadata.Name, c.schema, values); err != nil {
			return "", err
		}
	}
	caps, err := newCapabilities(opts.kubeVersion, opts.apiVersions)
	if err != nil {
		return "", err
	}
	if c.metadata.KubeVersion != "" && !kubeVersionSatisfies(c.metadata.KubeVersion, caps.KubeVersion.Version) {
		return "", fmt.Errorf("chart requires kubeVersion: %s which is incompatible with Kubernetes %s",
			c.metadata.KubeVersion, caps.KubeVersion.Version)
	}
	top := map[string]interface{}{
		"Values": values,
		"Release": map[string]interface{}{
			"Name":      opts.release,
			"Namespace": opts.namespace,
			"IsUpgrade": opts.isUpgrade,
			"IsInstall": !opts.isUpgrade,
			"Revision":  1,
			"Service":   "Helm",
		},
		"Chart":        c.metadata,
		"Capabilities": caps,
		"Files":        c.files,
		"Subcharts":    map[string]interface{}{},
	}
	rendered, err := render(c, top)
	if err != nil {
		return "", err
	}
	return formatOutput(c, rendered, opts.notes)
}

// userValues merges -f files, then --set, then --set-string, in Helm's order
// (every --set before every --set-string, whatever the command line order).
func userValues(opts options) (map[string]interface{}, error) {
	base := map[string]interface{}{}
	for _, file := range opts.valueFiles {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		current, err := parseValuesYAML(data)
		if err != nil {
			return nil, fmt.Errorf("failed to parse %s: %s", file, err)
		}
		base = mergeMaps(base, current)
	}
	for _, set := range opts.sets {
		if err := parseSet(set, base, false); err != nil {
			return nil, fmt.Errorf("failed parsing --set data: %s", err)
		}
	}
	for _, set := range opts.setStrings {
		if err := parseSet(set, base, true); err != nil {
			return nil, fmt.Errorf("failed parsing --set-string data: %s", err)
		}
	}
	return base, nil
}
