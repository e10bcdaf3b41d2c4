package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"
	"text/template"

	"github.com/BurntSushi/toml"
	"github.com/Masterminds/semver"
	"github.com/Masterminds/sprig"
	yamlv3 "gopkg.in/yaml.v3"
	"sigs.k8s.io/yaml"
)

// defaultKubeVersion is what helm template assumes without --kube-version
// (Helm 3.16 reports the Kubernetes minor of the client-go it is built with).
const defaultKubeVersion = "v1.31.0"

// builtinAPIVersions are the group/versions a Kubernetes 1.31 API server
// serves without extensions: what .Capabilities.APIVersions holds before
// --api-versions adds any (a CRD's group, such as monitoring.coreos.com/v1, is
// never among them).
var builtinAPIVersions = []string{
	"v1",
	"admissionregistration.k8s.io/v1",
	"apiextensions.k8s.io/v1",
	"apps/v1",
	"authentication.k8s.io/v1",
	"authorization.k8s.io/v1",
	"autoscaling/v1",
	"autoscaling/v2",
	"batch/v1",
	"certificates.k8s.io/v1",
	"coordination.k8s.io/v1",
	"discovery.k8s.io/v1",
	"events.k8s.io/v1",
	"flowcontrol.apiserver.k8s.io/v1",
	"networking.k8s.io/v1",
	"node.k8s.io/v1",
	"policy/v1",
	"rbac.authorization.k8s.io/v1",
	"scheduling.k8s.io/v1",
	"storage.k8s.io/v1",
}

type KubeVersion struct {
	Version string
	Major   string
	Minor   string
}

func (v *KubeVersion) String() string { return v.Version }

// GitVersion is the deprecated spelling charts still use.
func (v *KubeVersion) GitVersion() string { return v.Version }

type VersionSet []string

func (s VersionSet) Has(apiVersion string) bool {
	for _, v := range s {
		if v == apiVersion {
			return true
		}
	}
	return false
}

type HelmVersion struct {
	Version   string
	GitCommit string
	GoVersion string
}

type Capabilities struct {
	KubeVersion KubeVersion
	APIVersions VersionSet
	HelmVersion HelmVersion
}

func newCapabilities(kubeVersion string, extra []string) (*Capabilities, error) {
	v, err := semver.NewVersion(kubeVersion)
	if err != nil {
		return nil, fmt.Errorf("invalid kube version %q: %s", kubeVersion, err)
	}
	versions := append(VersionSet{}, builtinAPIVersions...)
	versions = append(versions, extra...)
	return &Capabilities{
		KubeVersion: KubeVersion{
			Version: "v" + v.String(),
			Major:   fmt.Sprint(v.Major()),
			Minor:   fmt.Sprint(v.Minor()),
		},
		APIVersions: versions,
		HelmVersion: HelmVersion{Version: "v3.16.0+helm-render"},
	}, nil
}

func kubeVersionSatisfies(constraint, version string) bool {
	c, err := semver.NewConstraint(constraint)
	if err != nil {
		return false
	}
	v, err := semver.NewVersion(version)
	if err != nil {
		return false
	}
	return c.Check(v)
}

// Errors raised by `fail` and `required` are wrapped in these markers so the
// message can be cut out of text/template's call chain, as Helm prints it.
const (
	userErrorStart = "HELM_ERR_START"
	userErrorEnd   = "HELM_ERR_END"
)

var userErrorPattern = regexp.MustCompile(userErrorStart + `(.*)` + userErrorEnd)

// maxIncludeDepth stops a template that includes itself, as Helm does.
const maxIncludeDepth = 1000

type engine struct {
	sources map[string]string
	names   []string // in Helm's parse order
}

func newEngine(sources map[string]string) *engine {
	names := make([]string, 0, len(sources))
	for name := range sources {
		names = append(names, name)
	}
	// Helm parses deeper paths first and, at one depth, in reverse lexical
	// order; a `define` parsed later wins, so this decides duplicate names.
	sort.Slice(names, func(i, j int) bool {
		di, dj := strings.Count(names[i], "/"), strings.Count(names[j], "/")
		if di != dj {
			return di > dj
		}
		return names[i] > names[j]
	})
	return &engine{sources: sources, names: names}
}

// newSet parses every template into one set, so `include` and
// `.Template.BasePath` see all of them; extra adds one more (tpl's text).
func (e *engine) newSet(extraName, extraText string) (*template.Template, error) {
	t := template.New("gotpl")
	// Helm renders a missing key as empty, not as an error.
	t.Option("missingkey=zero")
	t.Funcs(e.funcMap(t))
	for _, name := range e.names {
		if _, err := t.New(name).Parse(e.sources[name]); err != nil {
			return nil, parseError(name, err)
		}
	}
	if extraName != "" {
		if _, err := t.New(extraName).Parse(extraText); err != nil {
			return nil, parseError(extraName, err)
		}
	}
	return t, nil
}

func (e *engine) funcMap(t *template.Template) template.FuncMap {
	f := sprig.TxtFuncMap()
	// Helm removes these: a chart must not read the machine it is rendered on.
	delete(f, "env")
	delete(f, "expandenv")
	depth := map[string]int{}
	extra := template.FuncMap{
		"include": func(name string, data interface{}) (string, error) {
			if depth[name] > maxIncludeDepth {
				return "", fmt.Errorf("rendering template has a nested reference name: %s: unable to execute template", name)
			}
			depth[name]++
			defer func() { depth[name]-- }()
			var b strings.Builder
			err := t.ExecuteTemplate(&b, name, data)
			return b.String(), err
		},
		"tpl": func(text string, data interface{}) (string, error) {
			top, ok := data.(map[string]interface{})
			if !ok {
				return "", errors.New("tpl: the second argument must be the top-level context (.)")
			}
			tmpl, _ := top["Template"].(map[string]interface{})
			name, _ := tmpl["Name"].(string)
			if name == "" {
				return "", errors.New("cannot retrieve Template.Name from values inside tpl function")
			}
			set, err := e.newSet(name, text)
			if err != nil {
				return "", fmt.Errorf("error during tpl function execution for %q: %s", text, err)
			}
			var b strings.Builder
			if err := set.ExecuteTemplate(&b, name, data); err != nil {
				return "", fmt.Errorf("error during tpl function execution for %q: %s", text, err)
			}
			return strings.ReplaceAll(b.String(), "<no value>", ""), nil
		},
		"required": func(message string, value interface{}) (interface{}, error) {
			if value == nil {
				return nil, errors.New(userErrorStart + message + userErrorEnd)
			}
			if s, ok := value.(string); ok && s == "" {
				return nil, errors.New(userErrorStart + message + userErrorEnd)
			}
			return value, nil
		},
		"fail": func(message string) (string, error) {
			return "", errors.New(userErrorStart + message + userErrorEnd)
		},
		// helm template has no cluster to ask.
		"lookup": func(apiVersion, kind, namespace, name string) (map[string]interface{}, error) {
			return map[string]interface{}{}, nil
		},
		"toYaml":        toYAML,
		"mustToYaml":    mustToYAML,
		"toYamlPretty":  toYAMLPretty,
		"fromYaml":      fromYAML,
		"fromYamlArray": fromYAMLArray,
		"mustFromYaml":  mustFromYAML,
		"toJson":        toJSON,
		"mustToJson":    mustToJSON,
		"fromJson":      fromJSON,
		"fromJsonArray": fromJSONArray,
		"mustFromJson":  mustFromJSON,
		"toToml":        toTOML,
	}
	for name, fn := range extra {
		f[name] = fn
	}
	return f
}

// render executes every template whose base name does not start with `_`
// (those only define named templates), NOTES.txt included, as Helm does.
func render(c *chart, top map[string]interface{}) (map[string]string, error) {
	e := newEngine(c.templates)
	set, err := e.newSet("", "")
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, name := range e.names {
		if strings.HasPrefix(path.Base(name), "_") {
			continue
		}
		top["Template"] = map[string]interface{}{
			"Name":     name,
			"BasePath": path.Join(c.metadata.Name, "templates"),
		}
		var b strings.Builder
		if err := safeExecute(set, &b, name, top); err != nil {
			return nil, execError(name, err)
		}
		// missingkey=zero still prints "<no value>" for a missing key of an
		// interface map; Helm blanks it.
		out[name] = strings.ReplaceAll(b.String(), "<no value>", "")
	}
	return out, nil
}

func safeExecute(t *template.Template, b *strings.Builder, name string, data interface{}) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("rendering template failed: %v", r)
		}
	}()
	return t.ExecuteTemplate(b, name, data)
}

// parseError and execError word template errors as Helm does:
// "parse error at (file:line): ..." and "execution error at (file:line:col): ...".
func parseError(name string, err error) error {
	parts := strings.Split(err.Error(), ": ")
	if len(parts) < 3 {
		return fmt.Errorf("parse error in (%s): %s", name, err)
	}
	return fmt.Errorf("parse error at (%s): %s", parts[1], parts[len(parts)-1])
}

func execError(name string, err error) error {
	var execErr template.ExecError
	if !errors.As(err, &execErr) {
		return err
	}
	parts := strings.SplitN(err.Error(), ": ", 3)
	if len(parts) != 3 {
		return fmt.Errorf("execution error in (%s): %s", name, err)
	}
	if m := userErrorPattern.FindStringSubmatch(parts[2]); m != nil {
		return fmt.Errorf("execution error at (%s): %s", parts[1], m[1])
	}
	return err
}

func toYAML(v interface{}) string {
	data, err := yaml.Marshal(v)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(string(data), "\n")
}

func mustToYAML(v interface{}) (string, error) {
	data, err := yaml.Marshal(v)
	return strings.TrimSuffix(string(data), "\n"), err
}

func toYAMLPretty(v interface{}) string {
	var b bytes.Buffer
	encoder := yamlv3.NewEncoder(&b)
	encoder.SetIndent(2)
	if err := encoder.Encode(v); err != nil {
		return ""
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// The from* functions put a parse error under "Error" instead of failing, as
// Helm's do; the must* variants fail.
func fromYAML(s string) map[string]interface{} {
	m := map[string]interface{}{}
	if err := yaml.Unmarshal([]byte(s), &m); err != nil {
		m["Error"] = err.Error()
	}
	return m
}

func mustFromYAML(s string) (map[string]interface{}, error) {
	m := map[string]interface{}{}
	err := yaml.Unmarshal([]byte(s), &m)
	return m, err
}

func fromYAMLArray(s string) []interface{} {
	a := []interface{}{}
	if err := yaml.Unmarshal([]byte(s), &a); err != nil {
		a = []interface{}{err.Error()}
	}
	return a
}

func toJSON(v interface{}) string {
	data, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(data)
}

func mustToJSON(v interface{}) (string, error) {
	data, err := json.Marshal(v)
	return string(data), err
}

func fromJSON(s string) map[string]interface{} {
	m := map[string]interface{}{}
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		m["Error"] = err.Error()
	}
	return m
}

func mustFromJSON(s string) (map[string]interface{}, error) {
	m := map[string]interface{}{}
	err := json.Unmarshal([]byte(s), &m)
	return m, err
}

func fromJSONArray(s string) []interface{} {
	a := []interface{}{}
	if err := json.Unmarshal([]byte(s), &a); err != nil {
		a = []interface{}{err.Error()}
	}
	return a
}

func toTOML(v interface{}) string {
	var b bytes.Buffer
	if err := toml.NewEncoder(&b).Encode(v); err != nil {
		return err.Error()
	}
	return b.String()
}
