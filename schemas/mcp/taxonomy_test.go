package mcp

import "testing"

func TestLookup(t *testing.T) {
	tests := []struct {
		method       Method
		category     Category
		sender       Sender
		notification bool
		known        bool
	}{
		{Initialize, CategoryLifecycle, SenderClient, false, true},
		{ToolsCall, CategoryTools, SenderClient, false, true},
		{ResourcesTemplatesList, CategoryResources, SenderClient, false, true},
		{SamplingCreateMessage, CategorySampling, SenderServer, false, true},
		{ElicitationCreate, CategoryElicitation, SenderServer, false, true},
		{RootsList, CategoryRoots, SenderServer, false, true},
		{NotificationToolListChanged, CategoryTools, SenderServer, true, true},
		{"notifications/custom/thing", CategoryNotification, SenderEither, true, false},
		{"acme/deploy", CategoryUnknown, SenderEither, false, false},
	}
	for _, tt := range tests {
		got := Lookup(tt.method)
		if got.Category != tt.category || got.Sender != tt.sender || got.Notification != tt.notification || got.Known != tt.known {
			t.Errorf("Lookup(%q) = %+v", tt.method, got)
		}
	}
}

// TestMethodsCoverTheIssue checks that every method the specification
// names for the features mcptrail audits is in the taxonomy, and that the
// list is sorted and consistent.
func TestMethodsCoverTheIssue(t *testing.T) {
	required := []Method{"initialize", "ping", "tools/list", "tools/call", "resources/list", "resources/read",
		"resources/subscribe", "resources/templates/list", "prompts/list", "prompts/get", "completion/complete",
		"logging/setLevel", "sampling/createMessage", "elicitation/create", "roots/list",
		"notifications/initialized", "notifications/cancelled", "notifications/progress", "notifications/message",
		"notifications/resources/updated", "notifications/resources/list_changed", "notifications/tools/list_changed",
		"notifications/prompts/list_changed", "notifications/roots/list_changed"}
	all := Methods()
	byName := map[Method]MethodInfo{}
	for i, info := range all {
		if i > 0 && all[i-1].Method >= info.Method {
			t.Errorf("Methods not sorted at %q", info.Method)
		}
		if !info.Known {
			t.Errorf("%q listed but not Known", info.Method)
		}
		isNotification := len(info.Method) > len(notificationPrefix) && info.Method[:len(notificationPrefix)] == notificationPrefix
		if info.Notification != isNotification {
			t.Errorf("%q: Notification %v disagrees with its name", info.Method, info.Notification)
		}
		byName[info.Method] = info
	}
	for _, m := range required {
		if _, ok := byName[m]; !ok {
			t.Errorf("taxonomy lacks %q", m)
		}
	}
}
