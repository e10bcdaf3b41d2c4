package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/Masterminds/semver"
	"sigs.k8s.io/yaml"
)

// Metadata is Chart.yaml with the field names templates see as .Chart.*
// (.Chart.Name, .Chart.AppVersion, ...), as in Helm's chart.Metadata.
type Metadata struct {
	Name         string            `json:"name,omitempty"`
	Home         string            `json:"home,omitempty"`
	Sources      []string          `json:"sources,omitempty"`
	Version      string            `json:"version,omitempty"`
	Description  string            `json:"description,omitempty"`
	Keywords     []string          `json:"keywords,omitempty"`
	Maintainers  []*Maintainer     `json:"maintainers,omitempty"`
	Icon         string            `json:"icon,omitempty"`
	APIVersion   string            `json:"apiVersion,omitempty"`
	Condition    string            `json:"condition,omitempty"`
	Tags         string            `json:"tags,omitempty"`
	AppVersion   string            `json:"appVersion,omitempty"`
	Deprecated   bool              `json:"deprecated,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	KubeVersion  string            `json:"kubeVersion,omitempty"`
	Dependencies []*Dependency     `json:"dependencies,omitempty"`
	Type         string            `json:"type,omitempty"`
}

type Maintainer struct {
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
	URL   string `json:"url,omitempty"`
}

type Dependency struct {
	Name       string `json:"name"`
	Version    string `json:"version,omitempty"`
	Repository string `json:"repository"`
	Condition  string `json:"condition,omitempty"`
	Alias      string `json:"alias,omitempty"`
}

type chart struct {
	metadata  *Metadata
	values    map[string]interface{}
	schema    []byte
	templates map[string]string // by name as Helm gives it: <chart>/templates/<path>
	files     Files
}

func loadChart(dir string) (*chart, error) {
	info, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("%s is not a chart directory (packaged charts are not supported)", dir)
	}
	rules, err := readIgnoreRules(filepath.Join(dir, ".helmignore"))
	if err != nil {
		return nil, err
	}
	c := &chart{values: map[string]interface{}{}, files: Files{}}
	templates := map[string][]byte{}
	var chartYAML []byte
	err = filepath.WalkDir(dir, func(full string, entry fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, full)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rules.ignored(rel, entry.IsDir()) {
			if entry.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if entry.IsDir() {
			return nil
		}
		data, err := os.ReadFile(full)
		if err != nil {
			return err
		}
		switch {
		case rel == "Chart.yaml":
			chartYAML = data
		case rel == "values.yaml":
			c.values, err = parseValuesYAML(data)
			if err != nil {
				return fmt.Errorf("cannot load values.yaml: %s", err)
			}
		case rel == "values.schema.json":
			c.schema = data
		case strings.HasPrefix(rel, "templates/"):
			templates[rel] = data
		case strings.HasPrefix(rel, "charts/"), rel == "requirements.yaml":
			return fmt.Errorf("%s: subcharts are not supported by this renderer", rel)
		default:
			c.files[rel] = data
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if chartYAML == nil {
		return nil, fmt.Errorf("Chart.yaml file is missing in %s", dir)
	}
	c.metadata = &Metadata{}
	if err := yaml.Unmarshal(chartYAML, c.metadata); err != nil {
		return nil, fmt.Errorf("cannot load Chart.yaml: %s", err)
	}
	if err := validateMetadata(c.metadata); err != nil {
		return nil, err
	}
	c.templates = make(map[string]string, len(templates))
	for rel, data := range templates {
		c.templates[path.Join(c.metadata.Name, rel)] = string(data)
	}
	return c, nil
}

func validateMetadata(m *Metadata) error {
	switch {
	case m.APIVersion == "":
		return errors.New("validation: chart.metadata.apiVersion is required")
	case m.Name == "":
		return errors.New("validation: chart.metadata.name is required")
	case m.Version == "":
		return errors.New("validation: chart.metadata.version is required")
	case m.Type == "library":
		return errors.New("library charts are not installable")
	case len(m.Dependencies) > 0:
		return errors.New("Chart.yaml: dependencies (subcharts) are not supported by this renderer")
	}
	if _, err := semver.NewVersion(m.Version); err != nil {
		return fmt.Errorf("validation: chart.metadata.version %q is invalid", m.Version)
	}
	return nil
}

// ignoreRules is the subset of .helmignore that charts use: globs on the base
// name, globs with a slash on the whole path, a trailing slash for
// directories only, and `!` to take a path back.
type ignoreRules []ignoreRule

type ignoreRule struct {
	pattern string
	negate  bool
	dirOnly bool
	anchor  bool // contains a slash: matched against the whole relative path
}

func readIgnoreRules(file string) (ignoreRules, error) {
	// Helm always skips hidden files under templates/.
	rules := ignoreRules{{pattern: "templates/.?*", anchor: true}}
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return rules, nil
	}
	if err != nil {
		return nil, err
	}
	scanner := bufio.NewScanner(bytes.NewReader(data))
	for scanner.Scan() {
		line := strings.TrimSpace(scanner.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.Contains(line, "**") {
			return nil, errors.New(".helmignore: double-star (**) syntax is not supported")
		}
		rule := ignoreRule{}
		if strings.HasPrefix(line, "!") {
			rule.negate, line = true, line[1:]
		}
		if strings.HasSuffix(line, "/") {
			rule.dirOnly, line = true, strings.TrimSuffix(line, "/")
		}
		line = strings.TrimPrefix(line, "/")
		rule.anchor = strings.Contains(line, "/")
		if _, err := path.Match(line, "x"); err != nil {
			return nil, fmt.Errorf(".helmignore: bad pattern %q", line)
		}
		rule.pattern = line
		rules = append(rules, rule)
	}
	return rules, scanner.Err()
}

func (rules ignoreRules) ignored(rel string, isDir bool) bool {
	ignored := false
	for _, rule := range rules {
		if rule.dirOnly && !isDir {
			continue
		}
		subject := path.Base(rel)
		if rule.anchor {
			subject = rel
		}
		if ok, _ := path.Match(rule.pattern, subject); ok {
			ignored = !rule.negate
		}
	}
	return ignored
}

// Files is .Files: the chart's files outside templates/, by relative path.
type Files map[string][]byte

func (f Files) Get(name string) string { return string(f[name]) }

func (f Files) GetBytes(name string) []byte { return f[name] }

// Glob matches with path.Match, so `*` stops at a slash and `**` is not supported.
func (f Files) Glob(pattern string) Files {
	out := Files{}
	for name, data := range f {
		if ok, _ := path.Match(pattern, name); ok {
			out[name] = data
		}
	}
	return out
}

func (f Files) Lines(name string) []string {
	data, ok := f[name]
	if !ok {
		return []string{}
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

// AsConfig renders the files as the data of a ConfigMap, keyed by base name.
func (f Files) AsConfig() string {
	m := map[string]string{}
	for _, name := range f.sortedNames() {
		m[path.Base(name)] = string(f[name])
	}
	return toYAML(m)
}

// AsSecrets renders the files as the data of a Secret, base64-encoded.
func (f Files) AsSecrets() string {
	m := map[string]string{}
	for _, name := range f.sortedNames() {
		m[path.Base(name)] = base64.StdEncoding.EncodeToString(f[name])
	}
	return toYAML(m)
}

func (f Files) sortedNames() []string {
	names := make([]string, 0, len(f))
	for name := range f {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}
