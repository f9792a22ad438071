package mcp

import (
	"slices"
	"strings"
)

// Method is an MCP JSON-RPC method name, such as "tools/call".
type Method string

// Requests of the MCP specification (2025-11-25).
const (
	Initialize             Method = "initialize"
	Ping                   Method = "ping"
	ToolsList              Method = "tools/list"
	ToolsCall              Method = "tools/call"
	ResourcesList          Method = "resources/list"
	ResourcesRead          Method = "resources/read"
	ResourcesSubscribe     Method = "resources/subscribe"
	ResourcesUnsubscribe   Method = "resources/unsubscribe"
	ResourcesTemplatesList Method = "resources/templates/list"
	PromptsList            Method = "prompts/list"
	PromptsGet             Method = "prompts/get"
	CompletionComplete     Method = "completion/complete"
	LoggingSetLevel        Method = "logging/setLevel"
	SamplingCreateMessage  Method = "sampling/createMessage"
	ElicitationCreate      Method = "elicitation/create"
	RootsList              Method = "roots/list"
	TasksGet               Method = "tasks/get"
	TasksResult            Method = "tasks/result"
	TasksList              Method = "tasks/list"
	TasksCancel            Method = "tasks/cancel"
)

// Notifications of the MCP specification (2025-11-25).
const (
	NotificationInitialized         Method = "notifications/initialized"
	NotificationCancelled           Method = "notifications/cancelled"
	NotificationProgress            Method = "notifications/progress"
	NotificationMessage             Method = "notifications/message"
	NotificationResourceUpdated     Method = "notifications/resources/updated"
	NotificationResourceListChanged Method = "notifications/resources/list_changed"
	NotificationToolListChanged     Method = "notifications/tools/list_changed"
	NotificationPromptListChanged   Method = "notifications/prompts/list_changed"
	NotificationRootsListChanged    Method = "notifications/roots/list_changed"
	NotificationElicitationComplete Method = "notifications/elicitation/complete"
	NotificationTaskStatus          Method = "notifications/tasks/status"
	notificationPrefix                     = "notifications/"
)

// Category is the MCP feature a method belongs to.
type Category string

// Categories.
const (
	CategoryLifecycle    Category = "lifecycle"
	CategoryTools        Category = "tools"
	CategoryResources    Category = "resources"
	CategoryPrompts      Category = "prompts"
	CategoryCompletion   Category = "completion"
	CategoryLogging      Category = "logging"
	CategorySampling     Category = "sampling"
	CategoryElicitation  Category = "elicitation"
	CategoryRoots        Category = "roots"
	CategoryTasks        Category = "tasks"
	CategoryNotification Category = "notification" // a notification the specification does not name
	CategoryUnknown      Category = "unknown"      // a method the specification does not name
)

// Sender is the side of a session that sends a method.
type Sender string

// Senders.
const (
	SenderClient Sender = "client"
	SenderServer Sender = "server"
	SenderEither Sender = "either"
)

// MethodInfo describes one method of the taxonomy.
type MethodInfo struct {
	Method       Method
	Category     Category
	Sender       Sender
	Notification bool
	// Known is false for methods the specification does not name; their
	// category is then CategoryNotification or CategoryUnknown.
	Known bool
}

// taxonomy maps each method the specification names to its description.
var taxonomy = func() map[Method]*MethodInfo {
	list := []MethodInfo{
		{Method: Initialize, Category: CategoryLifecycle, Sender: SenderClient},
		{Method: Ping, Category: CategoryLifecycle, Sender: SenderEither},
		{Method: ToolsList, Category: CategoryTools, Sender: SenderClient},
		{Method: ToolsCall, Category: CategoryTools, Sender: SenderClient},
		{Method: ResourcesList, Category: CategoryResources, Sender: SenderClient},
		{Method: ResourcesRead, Category: CategoryResources, Sender: SenderClient},
		{Method: ResourcesSubscribe, Category: CategoryResources, Sender: SenderClient},
		{Method: ResourcesUnsubscribe, Category: CategoryResources, Sender: SenderClient},
		{Method: ResourcesTemplatesList, Category: CategoryResources, Sender: SenderClient},
		{Method: PromptsList, Category: CategoryPrompts, Sender: SenderClient},
		{Method: PromptsGet, Category: CategoryPrompts, Sender: SenderClient},
		{Method: CompletionComplete, Category: CategoryCompletion, Sender: SenderClient},
		{Method: LoggingSetLevel, Category: CategoryLogging, Sender: SenderClient},
		{Method: SamplingCreateMessage, Category: CategorySampling, Sender: SenderServer},
		{Method: ElicitationCreate, Category: CategoryElicitation, Sender: SenderServer},
		{Method: RootsList, Category: CategoryRoots, Sender: SenderServer},
		{Method: TasksGet, Category: CategoryTasks, Sender: SenderEither},
		{Method: TasksResult, Category: CategoryTasks, Sender: SenderEither},
		{Method: TasksList, Category: CategoryTasks, Sender: SenderEither},
		{Method: TasksCancel, Category: CategoryTasks, Sender: SenderEither},
		{Method: NotificationInitialized, Category: CategoryLifecycle, Sender: SenderClient, Notification: true},
		{Method: NotificationCancelled, Category: CategoryLifecycle, Sender: SenderEither, Notification: true},
		{Method: NotificationProgress, Category: CategoryLifecycle, Sender: SenderEither, Notification: true},
		{Method: NotificationMessage, Category: CategoryLogging, Sender: SenderServer, Notification: true},
		{Method: NotificationResourceUpdated, Category: CategoryResources, Sender: SenderServer, Notification: true},
		{Method: NotificationResourceListChanged, Category: CategoryResources, Sender: SenderServer, Notification: true},
		{Method: NotificationToolListChanged, Category: CategoryTools, Sender: SenderServer, Notification: true},
		{Method: NotificationPromptListChanged, Category: CategoryPrompts, Sender: SenderServer, Notification: true},
		{Method: NotificationRootsListChanged, Category: CategoryRoots, Sender: SenderClient, Notification: true},
		{Method: NotificationElicitationComplete, Category: CategoryElicitation, Sender: SenderServer, Notification: true},
		{Method: NotificationTaskStatus, Category: CategoryTasks, Sender: SenderEither, Notification: true},
	}
	m := make(map[Method]*MethodInfo, len(list))
	for i := range list {
		list[i].Known = true
		m[list[i].Method] = &list[i]
	}
	return m
}()

// Lookup describes a method. A method the specification does not name gets
// Known false, CategoryNotification when it starts with "notifications/"
// and CategoryUnknown otherwise.
func Lookup(m Method) MethodInfo {
	if info := taxonomy[m]; info != nil {
		return *info
	}
	if strings.HasPrefix(string(m), notificationPrefix) {
		return MethodInfo{Method: m, Category: CategoryNotification, Sender: SenderEither, Notification: true}
	}
	return MethodInfo{Method: m, Category: CategoryUnknown, Sender: SenderEither}
}

// Methods lists every method the specification names, sorted by name.
func Methods() []MethodInfo {
	out := make([]MethodInfo, 0, len(taxonomy))
	for _, info := range taxonomy {
		out = append(out, *info)
	}
	slices.SortFunc(out, func(a, b MethodInfo) int { return strings.Compare(string(a.Method), string(b.Method)) })
	return out
}
