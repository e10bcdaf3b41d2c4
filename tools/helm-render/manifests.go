package main

import (
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// installOrder is the order Helm installs kinds in and helm template prints
// them in; kinds not listed come last, by kind name.
var installOrder = []string{
	"PriorityClass", "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange",
	"PodSecurityPolicy", "PodDisruptionBudget", "ServiceAccount", "Secret", "SecretList",
	"ConfigMap", "StorageClass", "PersistentVolume", "PersistentVolumeClaim",
	"CustomResourceDefinition", "ClusterRole", "ClusterRoleList", "ClusterRoleBinding",
	"ClusterRoleBindingList", "Role", "RoleList", "RoleBinding", "RoleBindingList", "Service",
	"DaemonSet", "Pod", "ReplicationController", "ReplicaSet", "Deployment",
	"HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob", "IngressClass", "Ingress",
	"APIService",
}

// documentSeparator splits a rendered file into YAML documents the way Helm
// does: a `---` at the start of the text or of a line.
var documentSeparator = regexp.MustCompile(`(?:^|\s*\n)---\s*`)

type manifest struct {
	source  string
	content string
	kind    string
	hook    bool
}

type head struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Annotations map[string]string `json:"annotations"`
	} `json:"metadata"`
}

func formatOutput(c *chart, rendered map[string]string, withNotes bool) (string, error) {
	notesName := path.Join(c.metadata.Name, "templates", "NOTES.txt")
	names := make([]string, 0, len(rendered))
	for name := range rendered {
		names = append(names, name)
	}
	sort.Strings(names)
	var manifests []manifest
	for _, name := range names {
		if strings.HasSuffix(name, "NOTES.txt") {
			continue
		}
		for _, document := range documentSeparator.Split(strings.TrimSpace(rendered[name]), -1) {
			document = strings.TrimSpace(document)
			if document == "" {
				continue
			}
			var h head
			if err := yaml.Unmarshal([]byte(document), &h); err != nil {
				return "", fmt.Errorf("YAML parse error on %s: %s", name, err)
			}
			_, hook := h.Metadata.Annotations["helm.sh/hook"]
			manifests = append(manifests, manifest{source: name, content: document, kind: h.Kind, hook: hook})
		}
	}
	rank := map[string]int{}
	for i, kind := range installOrder {
		rank[kind] = i
	}
	sort.SliceStable(manifests, func(i, j int) bool {
		a, b := manifests[i], manifests[j]
		ra, aKnown := rank[a.kind]
		rb, bKnown := rank[b.kind]
		switch {
		case aKnown && bKnown && ra != rb:
			return ra < rb
		case aKnown != bKnown:
			return aKnown
		case !aKnown && a.kind != b.kind:
			return a.kind < b.kind
		}
		return a.source < b.source
	})
	var b strings.Builder
	// helm template prints hooks after the release's manifests.
	for _, hooks := range []bool{false, true} {
		for _, m := range manifests {
			if m.hook == hooks {
				fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", m.source, m.content)
			}
		}
	}
	if withNotes {
		if notes, ok := rendered[notesName]; ok {
			fmt.Fprintf(&b, "NOTES:\n%s\n", strings.TrimSpace(notes))
		}
	}
	return b.String(), nil
}
