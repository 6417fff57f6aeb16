// Package k8scheck checks deploy/cluster/k8s.yaml offline. kubeconform
// needs its JSON schemas from the network; those schemas are generated from
// the Kubernetes API's Go types, so this decodes each object strictly into
// the same types (k8s.io/api): an unknown or misspelt field, a value of the
// wrong type, or a duplicate key fails, as it would against the schema. What
// the schemas require and the types cannot say (names, a container's image,
// a selector that matches its pods) is checked with apimachinery's own
// validation functions. It is a module of its own so that the Kubernetes
// API stays out of Sotto's go.mod; `make test` runs it.
package k8scheck

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// objects is k8s.yaml, decoded.
type objects struct {
	services     map[string]*corev1.Service
	statefulSets map[string]*appsv1.StatefulSet
	deployments  map[string]*appsv1.Deployment
	configMaps   map[string]*corev1.ConfigMap
	policies     map[string]*networkingv1.NetworkPolicy
}

// decode splits the file into documents and decodes each strictly into the
// API type its apiVersion and kind name.
func decode(data []byte) (objects, error) {
	o := objects{
		services:     map[string]*corev1.Service{},
		statefulSets: map[string]*appsv1.StatefulSet{},
		deployments:  map[string]*appsv1.Deployment{},
		configMaps:   map[string]*corev1.ConfigMap{},
		policies:     map[string]*networkingv1.NetworkPolicy{},
	}
	for i, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(data), -1) {
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
			return o, fmt.Errorf("document %d: %v", i, err)
		}
		var obj interface{ GetName() string }
		var keep func()
		switch tm.APIVersion + " " + tm.Kind {
		case "v1 Service":
			s := &corev1.Service{}
			obj, keep = s, func() { o.services[s.Name] = s }
		case "apps/v1 StatefulSet":
			s := &appsv1.StatefulSet{}
			obj, keep = s, func() { o.statefulSets[s.Name] = s }
		case "apps/v1 Deployment":
			d := &appsv1.Deployment{}
			obj, keep = d, func() { o.deployments[d.Name] = d }
		case "v1 ConfigMap":
			c := &corev1.ConfigMap{}
			obj, keep = c, func() { o.configMaps[c.Name] = c }
		case "networking.k8s.io/v1 NetworkPolicy":
			p := &networkingv1.NetworkPolicy{}
			obj, keep = p, func() { o.policies[p.Name] = p }
		default:
			return o, fmt.Errorf("document %d: %q %q is not a kind this check knows", i, tm.APIVersion, tm.Kind)
		}
		// Case matters (encoding/json would take clusterIp for clusterIP;
		// the API server and the schemas do not), as do unknown and
		// repeated fields.
		j, err := yaml.YAMLToJSONStrict([]byte(doc))
		if err != nil {
			return o, fmt.Errorf("document %d (%s): %v", i, tm.Kind, err)
		}
		strict, err := kjson.UnmarshalStrict(j, obj, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
		if err == nil && len(strict) > 0 {
			err = errors.Join(strict...)
		}
		if err != nil {
			return o, fmt.Errorf("document %d (%s): %v", i, tm.Kind, err)
		}
		if msgs := validation.IsDNS1123Label(obj.GetName()); len(msgs) > 0 {
			return o, fmt.Errorf("%s %q: %s", tm.Kind, obj.GetName(), strings.Join(msgs, "; "))
		}
		keep()
	}
	return o, nil
}

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkPodTemplate checks what the API server would refuse in a pod
// template and its workload's selector.
func checkPodTemplate(t *testing.T, what string, sel *metav1.LabelSelector, tmpl corev1.PodTemplateSpec) {
	t.Helper()
	if sel == nil {
		t.Fatalf("%s: no selector", what)
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil || s.Empty() || !s.Matches(labels.Set(tmpl.Labels)) {
		t.Errorf("%s: selector %v (%v) does not select its own pods %v", what, sel, err, tmpl.Labels)
	}
	for k, v := range tmpl.Labels {
		for _, msg := range append(validation.IsQualifiedName(k), validation.IsValidLabelValue(v)...) {
			t.Errorf("%s: label %s=%s: %s", what, k, v, msg)
		}
	}
	volumes := map[string]bool{}
	for _, v := range tmpl.Spec.Volumes {
		volumes[v.Name] = true
	}
	if len(tmpl.Spec.Containers) == 0 {
		t.Errorf("%s: no containers", what)
	}
	for _, c := range tmpl.Spec.Containers {
		if c.Name == "" || c.Image == "" {
			t.Errorf("%s: a container without a name or an image: %q %q", what, c.Name, c.Image)
		}
		for _, p := range c.Ports {
			if p.ContainerPort < 1 || p.ContainerPort > 65535 || len(validation.IsValidPortName(p.Name)) > 0 {
				t.Errorf("%s/%s: port %q %d", what, c.Name, p.Name, p.ContainerPort)
			}
		}
		for _, e := range c.Env {
			if len(validation.IsEnvVarName(e.Name)) > 0 {
				t.Errorf("%s/%s: env name %q", what, c.Name, e.Name)
			}
		}
		for _, m := range c.VolumeMounts {
			if !volumes[m.Name] {
				t.Errorf("%s/%s: mounts volume %q, which the pod does not have", what, c.Name, m.Name)
			}
		}
	}
}

// env returns a container's environment: literal values, and for values
// from a field, "fieldRef:" and its path.
func env(c corev1.Container) map[string]string {
	m := map[string]string{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom != nil && e.ValueFrom.FieldRef != nil:
			m[e.Name] = "fieldRef:" + e.ValueFrom.FieldRef.FieldPath
		default:
			m[e.Name] = e.Value
		}
	}
	return m
}

// portOf returns a container's port by name.
func portOf(c corev1.Container, name string) int32 {
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	return 0
}

func TestKubernetesExample(t *testing.T) {
	o, err := decode(read(t, "../k8s.yaml"))
	if err != nil {
		t.Fatal(err)
	}

	for name, s := range o.services {
		if len(s.Spec.Ports) == 0 {
			t.Errorf("service %s: no ports", name)
		}
		for _, p := range s.Spec.Ports {
			if p.Port < 1 || p.TargetPort.String() == "" {
				t.Errorf("service %s: port %+v", name, p)
			}
		}
	}

	// The nodes: a StatefulSet behind a headless Service, each pod's index
	// its nameplate prefix.
	nodes := o.statefulSets["sotto"]
	headless := o.services["sotto"]
	if nodes == nil || headless == nil {
		t.Fatal("no StatefulSet and headless Service named sotto")
	}
	checkPodTemplate(t, "statefulset sotto", nodes.Spec.Selector, nodes.Spec.Template)
	if nodes.Spec.ServiceName != headless.Name || headless.Spec.ClusterIP != corev1.ClusterIPNone {
		t.Errorf("statefulset's serviceName %q, service %s clusterIP %q: want the headless service", nodes.Spec.ServiceName, headless.Name, headless.Spec.ClusterIP)
	}
	if !labels.SelectorFromSet(headless.Spec.Selector).Matches(labels.Set(nodes.Spec.Template.Labels)) {
		t.Errorf("the headless service does not select the nodes")
	}
	if nodes.Spec.Replicas == nil || nodes.Spec.Ordinals == nil {
		t.Fatal("the StatefulSet must say its replicas and its first ordinal")
	}
	replicas, start := int(*nodes.Spec.Replicas), int(nodes.Spec.Ordinals.Start)
	node := nodes.Spec.Template.Spec.Containers[0]
	nodeEnv := env(node)
	if nodeEnv["SOTTO_NODE_PREFIX"] != "fieldRef:metadata.labels['apps.kubernetes.io/pod-index']" {
		t.Errorf("SOTTO_NODE_PREFIX is %q, want the pod's index", nodeEnv["SOTTO_NODE_PREFIX"])
	}
	if nodeEnv["SOTTO_CLUSTER_SIZE"] != strconv.Itoa(replicas) {
		t.Errorf("SOTTO_CLUSTER_SIZE %q for %d replicas", nodeEnv["SOTTO_CLUSTER_SIZE"], replicas)
	}
	if nodeEnv["SOTTO_BEHIND_PROXY"] != "true" || nodeEnv["SOTTO_TRUSTED_PROXY"] == "" || nodeEnv["SOTTO_PUBLIC_IP"] == "" {
		t.Errorf("a node must be behind the proxy, trust it, and know its public address: %v", nodeEnv)
	}
	httpPort := portOf(node, "http")
	if nodeEnv["SOTTO_ADDR"] != fmt.Sprintf(":%d", httpPort) {
		t.Errorf("SOTTO_ADDR %q, the http port is %d", nodeEnv["SOTTO_ADDR"], httpPort)
	}
	if udp := portOf(node, "voice"); nodeEnv["SOTTO_UDP_PORT"] != strconv.Itoa(int(udp)) {
		t.Errorf("SOTTO_UDP_PORT %q, the voice port is %d", nodeEnv["SOTTO_UDP_PORT"], udp)
	}

	// HAProxy: one replica, its config the files beside k8s.yaml, every
	// variable they read set, each node named where it listens.
	lb := o.deployments["sotto-haproxy"]
	cm := o.configMaps["sotto-haproxy"]
	if lb == nil || cm == nil {
		t.Fatal("no Deployment and ConfigMap named sotto-haproxy")
	}
	checkPodTemplate(t, "deployment sotto-haproxy", lb.Spec.Selector, lb.Spec.Template)
	if lb.Spec.Replicas == nil || *lb.Spec.Replicas != 1 {
		t.Errorf("HAProxy replicas %v: want exactly 1 (the stick table is in its memory)", lb.Spec.Replicas)
	}
	for _, f := range []string{"haproxy.cfg", "nameplates.map"} {
		if cm.Data[f] != string(read(t, "../"+f)) {
			t.Errorf("the ConfigMap's %s is not deploy/cluster/%s: copy it", f, f)
		}
	}
	haproxy := lb.Spec.Template.Spec.Containers[0]
	lbEnv := env(haproxy)
	vars := regexp.MustCompile(`\$\{(\w+)\}`).FindAllStringSubmatch(cm.Data["haproxy.cfg"], -1)
	if len(vars) < 5 {
		t.Fatalf("haproxy.cfg reads %d variables: the pattern is out of date", len(vars))
	}
	for _, v := range vars {
		if lbEnv[v[1]] == "" {
			t.Errorf("haproxy.cfg reads %s; the HAProxy container does not set it", v[1])
		}
	}
	servers := regexp.MustCompile(`(?m)^\s*server (n\d+) "\$\{(SOTTO_NODE\d+)\}"`).FindAllStringSubmatch(cm.Data["haproxy.cfg"], -1)
	if len(servers) != replicas {
		t.Fatalf("haproxy.cfg has %d servers, the StatefulSet %d replicas", len(servers), replicas)
	}
	prefixOf := map[string]string{} // server -> prefix, from the map
	for _, line := range strings.Split(cm.Data["nameplates.map"], "\n") {
		if f := strings.Fields(line); len(f) == 2 && !strings.HasPrefix(line, "#") {
			prefixOf[f[1]] = f[0]
		}
	}
	for i, s := range servers {
		index := start + i
		want := fmt.Sprintf("%s-%d.%s:%d", nodes.Name, index, headless.Name, httpPort)
		if lbEnv[s[2]] != want {
			t.Errorf("server %s is %q, pod %d listens at %s", s[1], lbEnv[s[2]], index, want)
		}
		if prefixOf[s[1]] != strconv.Itoa(index) {
			t.Errorf("nameplates.map sends prefix %q to %s, which is pod %d (prefix %d)", prefixOf[s[1]], s[1], index, index)
		}
	}
	for _, m := range haproxy.VolumeMounts {
		if strings.HasPrefix(lbEnv["SOTTO_NAMEPLATE_MAP"], m.MountPath+"/") && m.Name != "config" {
			t.Errorf("the nameplate map is read from volume %s, not the ConfigMap", m.Name)
		}
	}

	// The nodes reach HAProxy's runtime API through its Service; only they may.
	runtime := o.services["sotto-haproxy-runtime"]
	forgetPort := portOf(haproxy, "runtime")
	if runtime == nil || !strings.HasSuffix(lbEnv["SOTTO_HAPROXY_FORGET"], fmt.Sprintf(":%d", forgetPort)) {
		t.Fatalf("HAProxy's runtime API for the nodes: service %v, SOTTO_HAPROXY_FORGET %q, port %d", runtime != nil, lbEnv["SOTTO_HAPROXY_FORGET"], forgetPort)
	}
	if want := fmt.Sprintf("tcp://%s:%d", runtime.Name, runtime.Spec.Ports[0].Port); nodeEnv["SOTTO_HAPROXY_RUNTIME"] != want ||
		runtime.Spec.Ports[0].TargetPort.String() != "runtime" {
		t.Errorf("nodes forget rooms at %q, the runtime Service is %s -> %s", nodeEnv["SOTTO_HAPROXY_RUNTIME"], want, runtime.Spec.Ports[0].TargetPort.String())
	}
	policy := o.policies["sotto-haproxy"]
	if policy == nil {
		t.Fatal("no NetworkPolicy guards the runtime API")
	}
	for _, rule := range policy.Spec.Ingress {
		opensRuntime := slices.ContainsFunc(rule.Ports, func(p networkingv1.NetworkPolicyPort) bool {
			return p.Port != nil && (p.Port.String() == "runtime" || p.Port.IntValue() == int(forgetPort))
		})
		if !opensRuntime {
			continue
		}
		if len(rule.From) == 0 {
			t.Errorf("the runtime API is open to every pod")
		}
		for _, from := range rule.From {
			sel, err := metav1.LabelSelectorAsSelector(from.PodSelector)
			if err != nil || from.NamespaceSelector != nil || from.IPBlock != nil || !sel.Matches(labels.Set(nodes.Spec.Template.Labels)) ||
				sel.Matches(labels.Set(lb.Spec.Template.Labels)) {
				t.Errorf("the runtime API is open to %+v, want the nodes only", from)
			}
		}
	}

	// Clients: their addresses must reach HAProxy (X-Forwarded-For).
	public := o.services["sotto-haproxy"]
	if public == nil || public.Spec.Type != corev1.ServiceTypeLoadBalancer || public.Spec.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyLocal {
		t.Errorf("the public Service must be a LoadBalancer with externalTrafficPolicy Local (client addresses)")
	}
}

// The check fails on what kubeconform would refuse: a misspelt field, a
// wrong type, a duplicate key, an unknown kind, a name that is not one.
func TestDecodeRefusesBadObjects(t *testing.T) {
	for _, doc := range []string{
		"apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {clusterIp: None}\n",
		"apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: x}\nspec: {replicas: three}\n",
		"apiVersion: v1\nkind: Service\nmetadata: {name: x}\nmetadata: {name: y}\n",
		"apiVersion: v1\nkind: Servic\nmetadata: {name: x}\n",
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: Not_A_Name}\n",
	} {
		if _, err := decode([]byte(doc)); err == nil {
			t.Errorf("accepted:\n%s", doc)
		}
	}
	if _, err := decode([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fine}\ndata: {a: b}\n")); err != nil {
		t.Errorf("a good object refused: %v", err)
	}
}
