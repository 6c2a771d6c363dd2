// The agent-state panel: current agent and intent, the customer, the booking slots as they fill, tasks.

const AGENT_NAMES = {
  router: "Router",
  faq: "Questions",
  booking: "Booking",
  escalation: "Human hand-off",
  respond: "Reply",
};

function setText(root, name, value) {
  const target = root.querySelector(`[data-slot="${name}"]`);
  if (!target) return;
  const text = value === null || value === undefined || value === "" ? "" : String(value);
  target.textContent = text || "\u2014";
  target.classList.toggle("filled", text !== "");
}

export function formatDate(iso) {
  if (!iso) return "";
  const date = new Date(`${iso}T12:00:00`);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleDateString("en-US", { weekday: "short", month: "short", day: "numeric", year: "numeric" });
}

export function formatTime(hhmm, partOfDay) {
  if (!hhmm) return partOfDay ?? "";
  const [h, m] = hhmm.split(":").map(Number);
  if (!Number.isFinite(h)) return hhmm;
  const suffix = h >= 12 ? "pm" : "am";
  const hour = h % 12 === 0 ? 12 : h % 12;
  return `${hour}:${String(m || 0).padStart(2, "0")} ${suffix}`;
}

function bookingKind(slots) {
  const action = { book: "Book", cancel: "Cancel", reschedule: "Reschedule" }[slots.action] ?? "";
  const what = { service: "service visit", test_drive: "test drive" }[slots.appointment_type] ?? "";
  return [action, what].filter(Boolean).join(" ");
}

export class AgentStateView {
  /** @param {HTMLElement} root  the panel holding [data-slot] fields and the task list */
  constructor(root) {
    this.root = root;
    this.tasks = new Map();
  }

  /** A `state_update` event, or a POST /api/chat reply (same figures under slightly different names). */
  update(state) {
    const agent = state.current_agent ?? state.agent;
    const slots = state.booking_slots ?? state.slots ?? {};
    const customer = state.customer ?? {};
    setText(this.root, "agent", AGENT_NAMES[agent] ?? agent ?? "");
    const confidence = typeof state.confidence === "number" ? ` (${Math.round(state.confidence * 100)}%)` : "";
    setText(this.root, "intent", state.intent ? `${state.intent}${confidence}` : "");
    setText(this.root, "human", state.human_agent_status ?? "");
    // The server shows a known caller's first name and the number given, nothing more of their record.
    setText(this.root, "customer-name", customer.name);
    setText(this.root, "customer-phone", customer.phone);
    setText(this.root, "booking", bookingKind(slots));
    setText(this.root, "service", slots.service_type);
    setText(this.root, "vehicle", slots.vehicle);
    setText(this.root, "date", formatDate(slots.preferred_date));
    setText(this.root, "time", formatTime(slots.preferred_time, slots.part_of_day));
    setText(this.root, "name", slots.customer_name);
    setText(this.root, "phone", slots.customer_phone);
    setText(this.root, "email", slots.email_declined ? "declined" : slots.customer_email);
    setText(this.root, "code", slots.confirmation_code);
    const status = slots.completed ? "Confirmed" : slots.awaiting ? `Waiting for: ${slots.awaiting}` : "";
    setText(this.root, "booking-status", status);
    this.root.querySelector(".booking")?.classList.toggle("confirmed", Boolean(slots.completed));
    if (Array.isArray(state.pending_tasks)) {
      for (const task of state.pending_tasks) this.tasks.set(task.task_id, task);
      this.drawTasks();
    }
  }

  /** A `task_update` event. */
  task(task) {
    if (!task?.task_id) return;
    this.tasks.set(task.task_id, task);
    this.drawTasks();
  }

  drawTasks() {
    const list = this.root.querySelector("[data-list=tasks]");
    if (!list) return;
    const items = [...this.tasks.values()].map((task) => {
      const item = document.createElement("li");
      item.className = `task ${task.status}`;
      const name = task.task_type === "human_escalation" ? "Finding a person to talk to" : task.task_type;
      item.textContent = `${name}: ${task.status}`;
      return item;
    });
    list.replaceChildren(...items);
    list.dataset.empty = items.length === 0 ? "true" : "false";
  }

  /** A `notification` event. */
  notify(note) {
    const list = this.root.querySelector("[data-list=notifications]");
    if (!list) return;
    const item = document.createElement("li");
    item.className = `notification ${note.priority ?? "normal"}`;
    item.textContent = note.message ?? "";
    list.prepend(item);
    list.dataset.empty = "false";
  }
}
