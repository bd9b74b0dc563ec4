// Command helm-check validates a Helm chart the way a cluster would see it, on a machine with no cluster and no
// internet: `helm lint --strict` (Helm v4's own lint action), then `helm template` (Helm's engine with the
// default capabilities), then every rendered object is decoded strictly into its Kubernetes API type from
// k8s.io/api (client-go's scheme, plus the Prometheus Operator's types for ServiceMonitor). An unknown field,
// a duplicated field, a wrong type or a kind no scheme knows is a failure — a typo such as `readinesProbe`
// that the API server would drop or refuse fails here. It prints the rendered manifests on stdout (for further
// checks) and exits 1 with the reasons on stderr when anything fails.
package main

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/cli/values"
	"helm.sh/helm/v4/pkg/engine"
	"helm.sh/helm/v4/pkg/getter"
	releaseutil "helm.sh/helm/v4/pkg/release/v1/util"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/client-go/kubernetes/scheme"
)

type valueFiles []string

func (v *valueFiles) String() string     { return strings.Join(*v, ",") }
func (v *valueFiles) Set(s string) error { *v = append(*v, s); return nil }

func main() {
	chartDir := flag.String("chart", "deploy/helm/tollgate", "chart directory")
	release := flag.String("release", "tollgate", "release name used for rendering")
	namespace := flag.String("namespace", "tollgate", "namespace used for rendering")
	var files valueFiles
	flag.Var(&files, "f", "values file (repeatable, later files win, like helm -f)")
	flag.Parse()

	vals, err := (&values.Options{ValueFiles: files}).MergeValues(getter.Providers{})
	if err != nil {
		fail("values: %v", err)
	}

	// helm lint --strict: warnings count as errors.
	lint := action.NewLint()
	lint.Strict = true
	lint.Namespace = *namespace
	result := lint.Run([]string{*chartDir}, vals)
	if len(result.Errors) > 0 {
		for _, msg := range result.Messages {
			fmt.Fprintln(os.Stderr, "lint:", msg.Error())
		}
		for _, e := range result.Errors {
			fmt.Fprintln(os.Stderr, "lint error:", e)
		}
		fail("helm lint --strict failed (%d errors)", len(result.Errors))
	}

	// helm template.
	chrt, err := loader.Load(*chartDir)
	if err != nil {
		fail("load chart: %v", err)
	}
	renderValues, err := util.ToRenderValues(chrt, vals, common.ReleaseOptions{Name: *release, Namespace: *namespace, IsInstall: true, Revision: 1}, nil)
	if err != nil {
		fail("values: %v", err)
	}
	rendered, err := engine.Render(chrt, renderValues)
	if err != nil {
		fail("render: %v", err)
	}

	// Strict decoding into the API types.
	sch := runtime.NewScheme()
	if err := scheme.AddToScheme(sch); err != nil {
		fail("scheme: %v", err)
	}
	if err := monitoringv1.AddToScheme(sch); err != nil {
		fail("scheme: %v", err)
	}
	decoder := json.NewSerializerWithOptions(json.DefaultMetaFactory, sch, sch, json.SerializerOptions{Yaml: true, Strict: true})

	names := make([]string, 0, len(rendered))
	for name := range rendered {
		names = append(names, name)
	}
	sort.Strings(names)
	problems, objects := 0, 0
	var out strings.Builder
	for _, name := range names {
		if !strings.HasSuffix(name, ".yaml") && !strings.HasSuffix(name, ".yml") {
			continue // NOTES.txt, _helpers.tpl
		}
		manifests := releaseutil.SplitManifests(rendered[name])
		keys := make([]string, 0, len(manifests))
		for k := range manifests {
			keys = append(keys, k)
		}
		sort.Sort(releaseutil.BySplitManifestsOrder(keys))
		for _, key := range keys {
			doc := manifests[key]
			if strings.TrimSpace(stripComments(doc)) == "" {
				continue
			}
			objects++
			obj, gvk, err := decoder.Decode([]byte(doc), nil, nil)
			if err != nil {
				problems++
				fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
				continue
			}
			if obj == nil || gvk == nil {
				problems++
				fmt.Fprintf(os.Stderr, "%s: no object decoded\n", name)
				continue
			}
			fmt.Fprintf(&out, "---\n# Source: %s (%s)\n%s\n", name, gvk.Kind, strings.TrimSpace(doc))
		}
	}
	if objects == 0 {
		fail("the chart rendered no objects")
	}
	if problems > 0 {
		fail("%d of %d rendered objects do not decode strictly into their Kubernetes types", problems, objects)
	}
	fmt.Print(out.String())
	fmt.Fprintf(os.Stderr, "helm-check: lint --strict passed, %d objects rendered and decoded strictly\n", objects)
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "helm-check: "+format+"\n", args...)
	os.Exit(1)
}
