package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// chartDir is the Helm chart of the reference server.
var chartDir = filepath.Join(deployDir, "helm/eusaas")

// helmBin finds helm (CI installs it from the Go module proxy); tests skip without it.
func helmBin(t *testing.T) string {
	t.Helper()
	helm, err := exec.LookPath("helm")
	if err != nil {
		t.Skip("helm not installed (CI: go install helm.sh/helm/v3/cmd/helm); chart not linted or rendered")
	}
	return helm
}

func runHelm(t *testing.T, helm string, args ...string) ([]byte, error) {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command(helm, args...)
	cmd.Stderr = &stderr
	cmd.Env = append(cmd.Environ(), "HELM_CACHE_HOME="+t.TempDir(), "HELM_CONFIG_HOME="+t.TempDir(), "HELM_DATA_HOME="+t.TempDir())
	out, err := cmd.Output()
	if err != nil {
		return out, errors.New(err.Error() + ": " + stderr.String() + string(out))
	}
	return out, nil
}

// everything turns on every optional part of the chart.
var everything = []string{"--set", "ingress.enabled=true", "--set", "autoscaling.enabled=true", "--set", "archive.existingClaim=eusaas-archive"}

func TestHelmChart(t *testing.T) {
	helm := helmBin(t)
	for _, extra := range [][]string{nil, everything} {
		out, err := runHelm(t, helm, append([]string{"lint", "--strict", chartDir}, extra...)...)
		require.NoError(t, err, "helm lint %v:\n%s", extra, out)
	}

	out, err := runHelm(t, helm, append([]string{"template", "eusaas", chartDir, "--namespace", "eusaas"}, everything...)...)
	require.NoError(t, err)
	kinds := map[string]int{}
	dec := yaml.NewDecoder(bytes.NewReader(out))
	for {
		var doc map[string]any
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			break
		} else {
			require.NoError(t, err)
		}
		if doc == nil {
			continue
		}
		kind, _ := doc["kind"].(string)
		name := str(doc, "metadata", "name")
		kinds[kind]++
		if kind != "Deployment" && kind != "Job" {
			continue
		}
		pod := dig(doc, "spec", "template", "spec")
		require.NotNil(t, pod, "%s/%s has no pod template", kind, name)
		require.Equal(t, true, dig(pod, "securityContext", "runAsNonRoot"), "%s/%s pod runs as root", kind, name)
		var tmp bool
		for _, v := range list(pod, "volumes") {
			if v := v.(map[string]any); v["name"] == "tmp" && v["emptyDir"] != nil {
				tmp = true
			}
		}
		require.True(t, tmp, "%s/%s has no emptyDir for /tmp", kind, name)
		containers := append(list(pod, "initContainers"), list(pod, "containers")...)
		require.NotEmpty(t, containers)
		for _, c := range containers {
			c := c.(map[string]any)
			where := kind + "/" + name + " container " + c["name"].(string)
			image := c["image"].(string)
			i := strings.LastIndex(image, ":")
			require.True(t, i > 0 && !strings.Contains(image[i:], "/"), "%s: image %s has no tag", where, image)
			require.NotEqual(t, "latest", image[i+1:], "%s: image tag latest", where)
			require.NotNil(t, dig(c, "resources", "requests", "cpu"), "%s: no CPU request", where)
			require.NotNil(t, dig(c, "resources", "requests", "memory"), "%s: no memory request", where)
			require.NotNil(t, dig(c, "resources", "limits", "memory"), "%s: no memory limit", where)
			require.Equal(t, true, dig(c, "securityContext", "readOnlyRootFilesystem"), "%s: writable root filesystem", where)
			require.Equal(t, false, dig(c, "securityContext", "allowPrivilegeEscalation"), "%s: privilege escalation allowed", where)
			require.Equal(t, true, dig(c, "securityContext", "runAsNonRoot"), "%s: may run as root", where)
			require.Equal(t, []any{"ALL"}, dig(c, "securityContext", "capabilities", "drop"), "%s: capabilities kept", where)
			var mountsTmp bool
			for _, m := range list(c, "volumeMounts") {
				if m.(map[string]any)["mountPath"] == "/tmp" {
					mountsTmp = true
				}
			}
			require.True(t, mountsTmp, "%s: /tmp not mounted", where)
			if args := list(c, "args"); len(args) > 0 && args[0] == "serve" {
				require.Equal(t, "/health/live", dig(c, "livenessProbe", "httpGet", "path"), where)
				require.Equal(t, "/health/ready", dig(c, "readinessProbe", "httpGet", "path"), where)
			}
			if args := list(c, "args"); len(args) > 0 && args[0] == "worker" {
				require.Equal(t, "/health/live", dig(c, "livenessProbe", "httpGet", "path"), where)
			}
		}
		if kind == "Job" {
			hook := str(doc, "metadata", "annotations", "helm.sh/hook")
			require.Equal(t, "pre-install,pre-upgrade", hook, "the migration Job runs before the new pods")
			var args []string
			for _, c := range containers {
				a := list(c.(map[string]any), "args")
				s := make([]string, len(a))
				for i := range a {
					s[i] = a[i].(string)
				}
				args = append(args, strings.Join(s, " "))
			}
			require.Equal(t, []string{"migrate", "migrate tenants"}, args)
		}
	}
	for _, k := range []string{"Deployment", "Job", "Service", "Ingress", "PodDisruptionBudget", "HorizontalPodAutoscaler", "ConfigMap"} {
		require.NotZero(t, kinds[k], "no %s rendered", k)
	}
	require.Equal(t, 2, kinds["Deployment"], "API and worker Deployments")

	// deploy/kubernetes/eusaas.yaml is the default rendering, for operators without helm.
	out, err = runHelm(t, helm, "template", "eusaas", chartDir, "--namespace", "eusaas")
	require.NoError(t, err)
	static, err := os.ReadFile(filepath.Join(deployDir, "kubernetes/eusaas.yaml"))
	require.NoError(t, err)
	for bytes.HasPrefix(static, []byte("#")) {
		static = static[bytes.IndexByte(static, '\n')+1:]
	}
	require.Equal(t, string(out), string(static),
		"deploy/kubernetes/eusaas.yaml is stale: helm template eusaas deploy/helm/eusaas --namespace eusaas")

	_, err = runHelm(t, helm, "template", "eusaas", chartDir, "--set", "image.tag=latest")
	require.ErrorContains(t, err, "pinned", "an unpinned image is refused")
}

func dig(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func str(v any, path ...string) string { s, _ := dig(v, path...).(string); return s }

func list(v any, path ...string) []any { l, _ := dig(v, path...).([]any); return l }
