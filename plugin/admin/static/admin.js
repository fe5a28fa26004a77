/* Embajador admin: small vanilla JS over the /api/ routes. Every call carries a fresh App
   Bridge session token (shopify.idToken()); nothing here is trusted by the server. */
(() => {
  "use strict";
  const DATA = JSON.parse(document.getElementById("embajador-data").textContent);
  const T = DATA.t;
  const $ = (selector, root = document) => root.querySelector(selector);
  const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));
  const esc = (v) => String(v ?? "").replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
  const params = new URLSearchParams(location.search);
  const link = (path) => (params.toString() ? `${path}?${params}` : path);

  $$("a[data-nav], ui-nav-menu a").forEach((a) => { a.href = link(a.getAttribute("href")); });
  if (window.top !== window.self) $(".tabs").hidden = true; // inside Shopify the admin shows <ui-nav-menu>

  async function token() {
    if (!window.shopify || typeof window.shopify.idToken !== "function") throw new Error("App Bridge is not loaded");
    return window.shopify.idToken();
  }

  async function api(method, path, body) {
    const headers = {Authorization: `Bearer ${await token()}`, "Accept-Language": DATA.lang};
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const res = await fetch(path, {method, headers, body: body === undefined ? undefined : JSON.stringify(body)});
    const type = res.headers.get("Content-Type") || "";
    const data = type.includes("json") ? await res.json() : await res.text();
    if (!res.ok) {
      const error = new Error((data && data.error) || `${res.status}`);
      Object.assign(error, {data, status: res.status});
      throw error;
    }
    return data;
  }

  async function download(path, filename) {
    const res = await fetch(path, {headers: {Authorization: `Bearer ${await token()}`}});
    if (!res.ok) throw new Error(`${res.status}`);
    const a = document.createElement("a");
    a.href = URL.createObjectURL(await res.blob());
    a.download = filename;
    document.body.append(a);
    a.click();
    a.remove();
  }

  let toastTimer;
  function toast(message, isError = false) {
    if (window.shopify && window.shopify.toast) window.shopify.toast.show(message, {isError});
    const el = $("#toast");
    el.textContent = message;
    el.className = isError ? "error" : "";
    el.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { el.hidden = true; }, 4000);
  }

  function clearErrors(root = document) {
    $$(".invalid", root).forEach((el) => el.classList.remove("invalid"));
    $$("[data-error]", root).forEach((el) => { el.textContent = ""; });
  }

  /* Show a 400's field errors next to their inputs: {error, field|path, errors: {path: message}}. */
  function showErrors(error, root = document) {
    const data = error.data || {};
    const errors = data.errors || {};
    const single = data.field || data.path;
    if (single && !errors[single]) errors[single] = data.error || error.message;
    if (!Object.keys(errors).length) { toast(error.message, true); return; }
    // The field itself, else its nearest parent that has an input (warn_days_before[1] → warn_days_before).
    const nearest = (attr, path) => {
      for (let p = path; p;) {
        const found = root.querySelector(`[${attr}="${CSS.escape(p)}"]`);
        if (found) return found;
        const parent = p.replace(/(\[\d+\]|\.[^.[\]]+)$/, "");
        if (parent === p) break;
        p = parent;
      }
      return null;
    };
    for (const [path, message] of Object.entries(errors)) {
      const input = nearest("data-path", path);
      if (input) input.classList.add("invalid");
      const slot = nearest("data-error", path) || root.querySelector('[data-error="$"]');
      if (slot) slot.textContent = slot.dataset.error === path ? message : `${path}: ${message}`;
    }
    toast(T.fix_fields, true);
  }

  const run = (fn) => async (event) => {
    if (event) event.preventDefault();
    try { await fn(event); } catch (error) { if (error.status === 400) showErrors(error); else toast(error.message, true); }
  };

  /* A reason from the merchant: App Bridge's modal (<ui-modal>, shopify.modal) inside Shopify;
     the page's own <dialog> when App Bridge did not load (or is an older stand-in). */
  const askReason = (title) => new Promise((resolve) => {
    const modal = $("#reason-modal");
    if (modal && window.shopify && window.shopify.modal && customElements.get("ui-modal")) {
      let answered = false;
      // HTML content may be rendered in the modal's own frame: read the input where it lives.
      const field = () => (modal.contentWindow && modal.contentWindow.document.getElementById("reason-modal-input"))
        || $("#reason-modal-input");
      field().value = "";
      $("#reason-modal-bar").setAttribute("title", title);
      $("#reason-modal-ok").onclick = () => {
        answered = true;
        const value = field().value;
        window.shopify.modal.hide("reason-modal");
        resolve(value);
      };
      $("#reason-modal-cancel").onclick = () => window.shopify.modal.hide("reason-modal");
      modal.addEventListener("hide", () => { if (!answered) resolve(null); }, {once: true});
      window.shopify.modal.show("reason-modal");
      return;
    }
    const dialog = $("#dialog");
    $("#dialog-title").textContent = title;
    $("#dialog-body").innerHTML = `<input id="dialog-input" style="width:100%" aria-label="${esc(title)}">`;
    dialog.onclose = () => resolve(dialog.returnValue === "ok" ? $("#dialog-input").value : null);
    dialog.showModal();
  });

  const rows = (list, cells) => list.map((item) => `<tr>${cells(item).map((c) => `<td>${c}</td>`).join("")}</tr>`).join("");
  const when = (iso) => (iso ? new Date(iso).toLocaleString(DATA.lang) : "");
  const day = (iso) => (iso ? new Date(iso).toLocaleDateString(DATA.lang) : "");
  const badge = (status) => `<span class="badge ${esc(status)}">${esc(status)}</span>`;

  /* ---------------------------------------------------------------- home: onboarding */
  const home = {
    async load() {
      const o = await api("GET", "/api/onboarding");
      for (const [step, done] of Object.entries(o.steps)) {
        const li = $(`[data-step="${step}"]`);
        $("[data-status]", li).className = `badge ${done ? "done" : "todo"}`;
        $("[data-status]", li).textContent = done ? T.done : T.todo;
      }
      $("#presets").innerHTML = o.presets.map((p) => `
        <div class="preset${p.id === o.preset ? " chosen" : ""}" data-preset="${esc(p.id)}">
          <h3>${esc(p.name)}</h3><p>${esc(p.description)}</p>
          <ul>${p.preview.map((r) => `<li>${esc(r)}</li>`).join("")}</ul>
          <button class="btn${p.id === o.preset ? "" : " primary"}" data-use="${esc(p.id)}">${esc(T["onb.use"])}</button>
        </div>`).join("");
      $$("[data-use]").forEach((b) => b.addEventListener("click", run(async () => {
        await api("POST", "/api/onboarding/program", {preset: b.dataset.use});
        toast(T.saved);
        await home.load();
      })));
      if (!$("#sender-email").value) $("#sender-email").value = o.sender.from_email || "";
      $("#theme-link").href = o.theme_editor_url;
      const imp = o.import;
      $("#import-progress").max = Math.max(imp.total || 0, imp.done || 0, 1);
      $("#import-progress").value = imp.done || 0;
      $("#import-label").textContent = imp.status ? `${imp.status} · ${imp.done || 0}/${imp.total || "?"}` : "";
      $("#live-banner").hidden = !o.steps.live;
      $("#go-live").hidden = o.steps.live;
      if (imp.status === "running") setTimeout(() => home.load().catch((e) => toast(e.message, true)), 1000);
    },
    bind() {
      $("#sender-test").addEventListener("click", run(async () => {
        clearErrors();
        await api("POST", "/api/onboarding/sender", {from_email: $("#sender-email").value});
        toast(T.done);
        await home.load();
      }));
      $("#theme-done").addEventListener("click", run(async () => { await api("POST", "/api/onboarding/theme", {enabled: true}); await home.load(); }));
      $("#import-start").addEventListener("click", run(async () => { await api("POST", "/api/onboarding/import", {}); await home.load(); }));
      $("#go-live").addEventListener("click", run(async () => {
        clearErrors();
        try { await api("POST", "/api/onboarding/live", {}); } catch (e) {
          if (e.status === 409) { $('[data-error="live"]').textContent = e.message; return; }
          throw e;
        }
        await home.load();
      }));
    },
  };

  /* ---------------------------------------------------------------- program editor */
  const keysOf = (path) => path.replace(/\[(\d+)\]/g, ".$1").split(".");
  const getPath = (obj, path) => keysOf(path).reduce((o, k) => (o == null ? undefined : o[k]), obj);
  function setPath(obj, path, value, remove = false) {
    const keys = keysOf(path);
    const last = keys.pop();
    const target = keys.reduce((o, k) => (o[k] = o[k] ?? {}), obj);
    if (remove) delete target[last]; else target[last] = value;
  }
  // What switching a section on starts from (the defaults of `default_program`).
  const SECTION_DEFAULTS = {
    referral: {friend: {type: "percentage", value: "10"}, advocate_points: 500},
    expiry: {inactive_days: 365, warn_days_before: [30, 7]},
    abandoned_checkout: {steps: ["PT1H", "PT24H", "PT72H"], incentive_on_step: 3, incentive: {type: "percentage", value: "10"}},
    surveys: {type: "nps", delay_days: 7, expiry_days: 30},
  };
  const DISCOUNT_TYPE = /^(rewards\[\d+\]|referral\.friend|abandoned_checkout\.incentive)\.type$/;
  const typeOptions = (chosen) => ["percentage", "fixed_amount", "free_shipping"].map((k) =>
    `<option value="${k}"${k === chosen ? " selected" : ""}>${esc(T[`prog.type.${k}`])}</option>`).join("");
  const cell = (path, value, attrs = "") => `<input data-path="${path}" value="${esc(value ?? "")}" ${attrs}><span class="field-error" data-error="${path}"></span>`;
  const program = {
    saved: null, current: null, timer: null, parked: {},
    async load() {
      program.saved = await api("GET", "/api/program");
      program.current = structuredClone(program.saved);
      program.fill(true);
      program.setDirty(false);
      await Promise.all([program.validate(), program.versions()]);
    },
    fill(withJson) {
      const doc = program.current;
      $$("[data-currency]").forEach((el) => { el.textContent = doc.currency; });
      $$("[data-toggle]").forEach((box) => {
        const on = doc[box.dataset.toggle] != null;
        box.checked = on;
        $(`[data-section="${box.dataset.toggle}"]`).disabled = !on;
      });
      $("#tiers tbody").innerHTML = (doc.tiers || []).map((t, i) => `<tr data-tier="${i}">
        <td>${cell(`tiers[${i}].name`, t.name, `data-type="text" aria-label="${esc(T["prog.name"])} ${i + 1}"`)}</td>
        <td><select data-path="tiers[${i}].threshold.metric" data-type="text">${["spend", "points", "orders", "referrals"].map((m) => `<option${m === t.threshold.metric ? " selected" : ""}>${m}</option>`).join("")}</select></td>
        <td>${cell(`tiers[${i}].threshold.value`, t.threshold.value, `data-type="threshold" aria-label="${esc(T["prog.threshold"])} ${i + 1}"`)}</td>
        <td>${cell(`tiers[${i}].multiplier`, t.multiplier, `type="number" step="0.05" min="0" data-type="number" aria-label="${esc(T["prog.multiplier"])} ${i + 1}"`)}</td>
        <td>${cell(`tiers[${i}].entry_points`, t.entry_points, `type="number" min="0" data-type="int" data-optional aria-label="${esc(T["prog.entry_points"])} ${i + 1}"`)}</td>
        <td><button type="button" class="btn" data-remove="tiers.${i}">${esc(T["prog.remove"])}</button></td></tr>`).join("");
      $("#custom-actions tbody").innerHTML = ((doc.actions || {}).custom || []).map((a, i) => `<tr data-action="${i}">
        <td>${cell(`actions.custom[${i}].id`, a.id, `data-type="text" size="10" aria-label="id ${i + 1}"`)}</td>
        <td>${cell(`actions.custom[${i}].name`, a.name, `data-type="text-null" aria-label="${esc(T["prog.name"])} ${i + 1}"`)}</td>
        <td>${cell(`actions.custom[${i}].points`, a.points, `type="number" min="1" data-type="int" aria-label="${esc(T["prog.points"])} ${i + 1}"`)}</td>
        <td>${cell(`actions.custom[${i}].limit`, a.limit, `type="number" min="1" data-type="int-null" aria-label="${esc(T["prog.limit"])} ${i + 1}"`)}</td>
        <td>${cell(`actions.custom[${i}].cooldown`, a.cooldown, `data-type="text-null" size="8" aria-label="${esc(T["prog.cooldown"])} ${i + 1}"`)}</td>
        <td><button type="button" class="btn" data-remove="actions.custom.${i}">${esc(T["prog.remove"])}</button></td></tr>`).join("");
      $("#rewards tbody").innerHTML = (doc.rewards || []).map((r, i) => `<tr data-reward="${i}">
        <td>${cell(`rewards[${i}].id`, r.id, `data-type="text" size="6" aria-label="id ${i + 1}"`)}</td>
        <td>${cell(`rewards[${i}].name`, r.name, `data-type="text" aria-label="${esc(T["prog.name"])} ${i + 1}"`)}</td>
        <td>${cell(`rewards[${i}].cost`, r.cost, `type="number" min="1" data-type="int" aria-label="${esc(T["prog.cost"])} ${i + 1}"`)}</td>
        <td><select data-path="rewards[${i}].type" data-type="text">${typeOptions(r.type)}</select></td>
        <td>${cell(`rewards[${i}].value`, r.value, `data-type="money" data-optional size="6" aria-label="${esc(T["prog.value"])} ${i + 1}"${r.type === "free_shipping" ? " disabled" : ""}`)}</td>
        <td>${cell(`rewards[${i}].min_subtotal`, r.min_subtotal, `data-type="money" data-optional size="6" aria-label="${esc(T["prog.min_subtotal"])} ${i + 1}"`)}</td>
        <td>${cell(`rewards[${i}].expires_in_days`, r.expires_in_days, `type="number" min="0" data-type="int" data-optional aria-label="${esc(T["prog.expires_in_days"])} ${i + 1}"`)}</td>
        <td><input type="checkbox" data-path="rewards[${i}].refund_points_on_expiry" data-type="bool"${r.refund_points_on_expiry ? " checked" : ""} aria-label="${esc(T["prog.refund_on_expiry"])} ${i + 1}"></td>
        <td><button type="button" class="btn" data-remove="rewards.${i}">${esc(T["prog.remove"])}</button></td></tr>`).join("");
      $$("#program-form [data-path]").forEach((input) => {
        if (input.id === "program-json" || input.closest("#tiers, #rewards, #custom-actions")) return;
        const value = getPath(doc, input.dataset.path);
        const kind = input.dataset.type;
        if (kind === "bool") input.checked = !!value;
        else if (kind === "int-list") input.value = (value || []).join(", ");
        else input.value = value ?? "";
        if (/\.value$/.test(input.dataset.path)) input.disabled = getPath(doc, input.dataset.path.replace(/value$/, "type")) === "free_shipping";
      });
      if (withJson) $("#program-json").value = JSON.stringify(doc, null, 2);
    },
    read(input) {
      const path = input.dataset.path;
      const kind = input.dataset.type;
      const raw = input.value.trim();
      const empty = raw === "" && kind !== "bool";
      if (empty && input.hasAttribute("data-optional")) { setPath(program.current, path, undefined, true); return; }
      let value = raw;
      if (kind === "int" || kind === "number") value = empty ? null : Number(raw);
      else if (kind === "int-null") value = empty ? null : Number(raw);
      else if (kind === "text-null") value = empty ? null : raw;
      else if (kind === "bool") value = input.checked;
      else if (kind === "int-list") value = raw.split(/[,\s]+/).filter(Boolean).map(Number);
      else if (kind === "threshold") {
        const metric = getPath(program.current, path.replace(/value$/, "metric"));
        value = metric === "spend" ? raw : (empty ? null : Number(raw));
      } else if (kind === "step") {
        value = $$('[data-type="step"]').map((el) => el.value.trim()).filter(Boolean);
        setPath(program.current, "abandoned_checkout.steps", value);
        return;
      }
      setPath(program.current, path, value);
    },
    /* After a type or metric changes: free shipping takes no value, other kinds need one. */
    normalise(path) {
      if (DISCOUNT_TYPE.test(path)) {
        const valuePath = path.replace(/type$/, "value");
        if (getPath(program.current, path) === "free_shipping") setPath(program.current, valuePath, undefined, true);
        else if (getPath(program.current, valuePath) === undefined) setPath(program.current, valuePath, "");
      }
      if (/threshold\.metric$/.test(path)) {
        const valuePath = path.replace(/metric$/, "value");
        const value = getPath(program.current, valuePath);
        setPath(program.current, valuePath, getPath(program.current, path) === "spend" ? String(value ?? "0") : Number(value) || 0);
      }
    },
    toggle(key, on) {
      if (on) program.current[key] = program.parked[key] || structuredClone(SECTION_DEFAULTS[key]);
      else { program.parked[key] = program.current[key]; program.current[key] = null; }
    },
    changed() {
      program.setDirty(JSON.stringify(program.current) !== JSON.stringify(program.saved));
      clearTimeout(program.timer);
      program.timer = setTimeout(() => program.validate().catch((e) => toast(e.message, true)), 300);
    },
    setDirty(dirty) {
      const bar = window.shopify && window.shopify.saveBar;
      if (bar) { if (dirty) bar.show("program-save-bar"); else bar.hide("program-save-bar"); }
      $("#savebar-fallback").hidden = !dirty || !!bar;
    },
    async validate() {
      clearErrors($("#program-form"));
      const result = await api("POST", "/api/program/validate", program.current);
      if (!result.valid) showErrors({data: result, message: result.error}, $("#program-form"));
      $("#program-preview").innerHTML = (result.preview || []).map((r) => `<li>${r.tier ? `<strong>${esc(r.tier)}</strong>: ` : ""}${esc(T["preview.order"].replace("{total}", `${r.order_total} ${program.current.currency}`).replace("{points}", r.points))}${r.orders_to_first_reward ? ` · ${esc(T["preview.orders"].replace("{n}", r.orders_to_first_reward).replace("{reward}", r.first_reward))}` : ""}</li>`).join("");
      return result.valid;
    },
    async save() {
      clearErrors($("#program-form"));
      program.saved = await api("PUT", "/api/program", program.current);
      program.current = structuredClone(program.saved);
      program.fill(true);
      program.setDirty(false);
      toast(T.saved);
      await program.versions();
    },
    discard() {
      program.current = structuredClone(program.saved);
      program.fill(true);
      program.setDirty(false);
      clearErrors($("#program-form"));
    },
    async versions() {
      const list = await api("GET", "/api/program/versions");
      $("#versions tbody").innerHTML = rows(list.versions, (v) => [`v${v.version}`, esc(v.note || ""), when(v.created_at),
        `<button class="btn" data-rollback="${v.version}">${esc(T["prog.rollback"])}</button>`]);
      $$("[data-rollback]").forEach((b) => b.addEventListener("click", run(async () => {
        await api("POST", `/api/program/versions/${b.dataset.rollback}/rollback`, {});
        toast(T.saved);
        await program.load();
      })));
    },
    bind() {
      const form = $("#program-form");
      form.addEventListener("input", (event) => {
        const input = event.target;
        if (input.id === "program-json") {
          try { program.current = JSON.parse(input.value); } catch { return; }
          program.fill(false);
        } else if (input.dataset.toggle) {
          return; // handled on change
        } else if (input.dataset.path) {
          program.read(input);
          $("#program-json").value = JSON.stringify(program.current, null, 2);
        }
        program.changed();
      });
      form.addEventListener("change", (event) => {
        const el = event.target;
        if (el.dataset.toggle) { program.toggle(el.dataset.toggle, el.checked); program.fill(true); program.changed(); return; }
        const path = el.dataset.path || "";
        if (el.tagName === "SELECT" || el.type === "checkbox") program.read(el);
        if (DISCOUNT_TYPE.test(path) || /threshold\.metric$/.test(path)) { program.normalise(path); program.fill(true); }
        program.changed();
      });
      form.addEventListener("click", (event) => {
        const target = event.target.dataset.remove;
        if (target === undefined) return;
        const cut = target.lastIndexOf(".");
        getPath(program.current, target.slice(0, cut)).splice(Number(target.slice(cut + 1)), 1);
        program.fill(true);
        program.changed();
      });
      $("#add-tier").addEventListener("click", () => {
        const tiers = (program.current.tiers = program.current.tiers || []);
        tiers.push({name: "", threshold: {metric: "spend", value: ""}, multiplier: 1, entry_points: 0});
        program.fill(true);
        program.changed();
      });
      $("#add-action").addEventListener("click", () => {
        const actions = (program.current.actions = program.current.actions || {});
        const custom = (actions.custom = actions.custom || []);
        custom.push({id: `action-${custom.length + 1}`, points: 10, limit: null, cooldown: null});
        program.fill(true);
        program.changed();
      });
      $("#add-reward").addEventListener("click", () => {
        const rewards = (program.current.rewards = program.current.rewards || []);
        rewards.push({id: `reward-${rewards.length + 1}`, name: "", cost: 100, type: "fixed_amount", value: "",
          expires_in_days: 30, refund_points_on_expiry: false});
        program.fill(true);
        program.changed();
      });
      form.addEventListener("submit", run(program.save));
      $("#discard-fallback").addEventListener("click", program.discard);
      $("#save-bar-save").addEventListener("click", run(program.save));
      $("#save-bar-discard").addEventListener("click", program.discard);
    },
  };

  /* ---------------------------------------------------------------- customers */
  const customers = {
    id: null,
    async search() {
      const q = $("#q").value.trim();
      const found = await api("GET", `/api/customers?q=${encodeURIComponent(q)}`);
      $("#customer-list tbody").innerHTML = rows(found.customers, (c) => [
        `<a href="#" data-customer="${esc(c.id)}">${esc(c.name || c.email || c.id)}</a>`, esc(c.email),
        `<span class="num">${c.points.available}</span>`, esc(c.tier || "—")]);
      $$("[data-customer]").forEach((a) => a.addEventListener("click", run(() => customers.open(a.dataset.customer))));
    },
    async open(id) {
      customers.id = id;
      const c = await api("GET", `/api/customers/${id}`);
      $("#customer-detail").hidden = false;
      $("#c-name").textContent = c.name || c.email || c.id;
      $("#c-balance").textContent = `${c.points.available} (+${c.points.pending} ${T["cust.pending"]})`;
      $("#c-tier").textContent = c.tier || "—";
      $("#c-progress").textContent = c.progress || "";
      $("#c-birthday").value = c.birthday || "";
      $("#c-ledger tbody").innerHTML = rows(c.ledger, (e) => [day(e.occurred_at), esc(e.kind),
        `<span class="num">${e.available >= 0 ? "+" : ""}${e.available}${e.pending ? ` (${e.pending > 0 ? "+" : ""}${e.pending} ${esc(T["cust.pending"])})` : ""}</span>`, esc(e.reason)]);
      $("#c-referrals tbody").innerHTML = rows(c.referrals, (r) => [day(r.created_at), esc(r.friend || ""), badge(r.status), esc(r.points_awarded)]);
      $("#c-emails tbody").innerHTML = rows(c.emails, (m) => [when(m.created_at), esc(m.flow), esc(m.subject), badge(m.status), esc(m.events.join(", "))]);
      $("#c-surveys tbody").innerHTML = rows(c.surveys, (s) => [day(s.created_at), esc(s.survey_type), esc(s.score), esc(s.comment || "")]);
    },
    bind() {
      $("#customer-search").addEventListener("submit", run(customers.search));
      $("#adjust-form").addEventListener("submit", run(async () => {
        clearErrors();
        const raw = $("#adjust-points").value;
        await api("POST", `/api/customers/${customers.id}/adjust`, {points: raw === "" ? null : Number(raw), reason: $("#adjust-reason").value});
        $("#adjust-points").value = "";
        $("#adjust-reason").value = "";
        toast(T.saved);
        await customers.open(customers.id);
      }));
      $("#birthday-form").addEventListener("submit", run(async () => {
        clearErrors();
        await api("PUT", `/api/customers/${customers.id}/birthday`, {birthday: $("#c-birthday").value});
        toast(T.saved);
      }));
    },
    async load() { await customers.search(); },
  };

  /* ---------------------------------------------------------------- referrals */
  const referrals = {
    async load() {
      const [held, ok, board] = await Promise.all([api("GET", "/api/referrals?status=held"),
        api("GET", "/api/referrals?status=successful"), api("GET", "/api/referrals/leaderboard")]);
      $("#held").className = "card-list";
      $("#held").innerHTML = held.referrals.length ? held.referrals.map((r) => `<div data-referral="${r.id}">
        <p><strong>${esc(r.advocate)}</strong> → ${esc(r.friend_email || r.friend || "")} · ${esc(r.friend_order_id)} · ${badge(r.status)}</p>
        <ul>${(r.hold_reasons || []).map((h) => `<li><code>${esc(h.code)}</code> ${esc(h.text)}</li>`).join("")}</ul>
        <div class="row"><button class="btn primary" data-approve="${r.id}">${esc(T["ref.approve"])}</button>
        <button class="btn critical" data-reject="${r.id}">${esc(T["ref.reject"])}</button></div></div>`).join("") : `<p>${esc(T["ref.none"])}</p>`;
      $$("[data-approve]").forEach((b) => b.addEventListener("click", run(async () => {
        await api("POST", `/api/referrals/${b.dataset.approve}/approve`, {});
        toast(T.done);
        await referrals.load();
      })));
      $$("[data-reject]").forEach((b) => b.addEventListener("click", run(async () => {
        const reason = await askReason(T["ref.reject_reason"]);
        if (reason === null) return;
        await api("POST", `/api/referrals/${b.dataset.reject}/reject`, {reason});
        toast(T.done);
        await referrals.load();
      })));
      $("#successful tbody").innerHTML = rows(ok.referrals, (r) => [day(r.created_at), esc(r.advocate), esc(r.friend_email || ""), esc(r.points_awarded)]);
      $("#leaderboard tbody").innerHTML = rows(board.advocates, (a) => [esc(a.rank), esc(a.name), `<span class="num">${a.successful}</span>`, `<span class="num">${a.clicks}</span>`, `<span class="num">${a.points}</span>`]);
    },
    bind() {},
  };

  /* ---------------------------------------------------------------- emails */
  const EVENT_COLUMNS = ["sent", "delivered", "open", "click", "bounce", "unsubscribe", "spamreport"];
  const emails = {
    flow: null,
    async load() {
      const data = await api("GET", "/api/emails/flows");
      const shopSender = data.sender.from_email || "—";
      $("#shop-sender").textContent = `${T["em.sender"]}: ${data.sender.from_name || ""} <${shopSender}>`;
      $("#flows tbody").innerHTML = data.flows.map((f) => {
        const name = esc(f.flow);
        let delay;
        if (f.program_timing) {
          delay = `<a href="${esc(link("/program"))}" data-program-field="${esc(f.program_timing.field)}">${esc(T["em.in_program"])}: ${esc(f.program_timing.value || T["prog.off"])}</a>`;
        } else if (f.audience === "merchant") {
          delay = "—";
        } else {
          delay = `<input type="number" min="0" step="1" data-path="delay_minutes" value="${f.delay_minutes}" aria-label="${esc(T["em.delay"])} ${name}" title="${esc(T["em.delay_unit"])}"> <small>min</small>`;
        }
        return `<tr data-flow="${name}" class="${f.enabled ? "" : "flow-off"}">
          <td><strong>${name}</strong>${f.audience === "merchant" ? ` <small>(${esc(T["em.merchant"])})</small>` : ""}</td>
          <td><span class="badge" data-kind>${esc(f.marketing ? T["em.marketing"] : T["em.transactional"])}</span></td>
          <td><input type="checkbox" data-path="enabled"${f.enabled ? " checked" : ""} aria-label="${esc(T["em.on"])} ${name}"></td>
          <td>${delay}</td>
          <td><input type="email" data-path="from_email" value="${esc(f.from_email || "")}" placeholder="${esc(shopSender)}" aria-label="${esc(T["em.sender"])} ${name}"></td>
          <td><input data-path="from_name" value="${esc(f.from_name || "")}" placeholder="${esc(data.sender.from_name || "")}" aria-label="${esc(T["em.sender_name"])} ${name}">
            <span class="field-error" data-error="${name}"></span></td>
          <td><button class="btn" data-preview="${name}">${esc(T["em.preview"])}</button></td></tr>`;
      }).join("");
      $("#flow-events tbody").innerHTML = rows(data.flows, (f) => [esc(f.flow), ...EVENT_COLUMNS.map((k) => `<span class="num">${f.counts[k] || 0}</span>`)]);
      $$("[data-preview]").forEach((b) => b.addEventListener("click", run(() => emails.preview(b.dataset.preview))));
    },
    /* One flow's on/off, delay and sender, saved as soon as the merchant changes them. */
    async save(row) {
      const flow = row.dataset.flow;
      const body = {};
      $$("[data-path]", row).forEach((input) => {
        const key = input.dataset.path;
        if (key === "enabled") body.enabled = input.checked;
        else if (key === "delay_minutes") body.delay_minutes = input.value === "" ? 0 : Number(input.value);
        else body[key] = input.value.trim() || null;
      });
      $$(".invalid", row).forEach((el) => el.classList.remove("invalid"));
      $(`[data-error="${CSS.escape(flow)}"]`, row).textContent = "";
      try {
        const saved = await api("PUT", `/api/emails/flows/${flow}`, body);
        row.classList.toggle("flow-off", !saved.enabled);
        toast(T.saved);
      } catch (error) {
        const field = error.data && error.data.field;
        const input = field && $(`[data-path="${CSS.escape(field)}"]`, row);
        if (input) input.classList.add("invalid");
        $(`[data-error="${CSS.escape(flow)}"]`, row).textContent = error.message;
        toast(T.fix_fields, true);
      }
    },
    async preview(flow) {
      emails.flow = flow || emails.flow;
      $("#email-preview-section").hidden = false;
      $("#preview-flow").textContent = emails.flow;
      const html = await api("GET", `/api/emails/preview/${emails.flow}?locale=${$("#preview-lang").value}`);
      $("#preview-frame").srcdoc = html;
    },
    bind() {
      $("#flows").addEventListener("change", (event) => {
        const row = event.target.closest("tr[data-flow]");
        if (row && event.target.dataset.path) emails.save(row);
      });
      $("#preview-lang").value = DATA.lang;
      $("#preview-lang").addEventListener("change", run(() => emails.preview()));
      $("#preview-test").addEventListener("click", run(async () => {
        const r = await api("POST", "/api/emails/test", {flow: emails.flow, locale: $("#preview-lang").value});
        toast(`${T.done}: ${r.to}`);
      }));
    },
  };

  /* ---------------------------------------------------------------- complaints + privacy */
  const complaints = {
    async load() {
      const [list, exports] = await Promise.all([api("GET", "/api/complaints"), api("GET", "/api/data-exports")]);
      $("#complaints").className = "card-list";
      $("#complaints").innerHTML = list.complaints.length ? list.complaints.map((c) => `<div data-complaint="${c.id}">
        <p>${badge(c.status)} <strong>${esc(c.order_name || c.order_id)}</strong> · ${esc(c.score)} · ${when(c.created_at)}</p>
        <blockquote>${esc(c.comment || "—")}</blockquote>
        ${c.answer ? `<p><em>${esc(c.answer)}</em></p>` : ""}
        ${c.status === "closed" ? "" : `<textarea rows="3" data-answer="${c.id}" aria-label="${esc(T["comp.answer"])}"></textarea>
        <p class="field-error" data-error="answer-${c.id}"></p>
        <div class="row"><button class="btn primary" data-reply="${c.id}">${esc(T["comp.answer"])}</button>
        <button class="btn" data-close="${c.id}">${esc(T["comp.close"])}</button></div>`}</div>`).join("") : `<p>${esc(T["comp.none"])}</p>`;
      $$("[data-reply]").forEach((b) => b.addEventListener("click", run(async () => {
        await api("POST", `/api/complaints/${b.dataset.reply}/answer`, {answer: $(`[data-answer="${b.dataset.reply}"]`).value});
        toast(T.saved);
        await complaints.load();
      })));
      $$("[data-close]").forEach((b) => b.addEventListener("click", run(async () => {
        await api("POST", `/api/complaints/${b.dataset.close}/close`, {});
        toast(T.done);
        await complaints.load();
      })));
      $("#exports tbody").innerHTML = rows(exports.exports, (e) => [esc(e.customer_shopify_id), when(e.created_at),
        `${esc(T["priv.due"])} ${day(e.due_at)}`, `<button class="btn" data-export="${e.id}">${esc(T["priv.download"])}</button>`]);
      $$("[data-export]").forEach((b) => b.addEventListener("click", run(() => download(`/api/data-exports/${b.dataset.export}`, `data-request-${b.dataset.export}.json`))));
    },
    bind() {},
  };

  /* ---------------------------------------------------------------- analytics */
  const analytics = {
    async load() {
      const a = await api("GET", `/api/analytics/summary?lang=${DATA.lang}`);
      const kpis = a.kpis.map((k) => `<div class="kpi" data-kpi="${esc(k.id)}"><span>${esc(k.label)}</span><strong>${esc(k.value)}</strong>
        <span class="definition">${esc(k.definition)}</span></div>`).join("");
      const charts = a.charts.map((c) => `<s-section class="chart" data-chart="${esc(c.id)}"><h2>${esc(c.title)}</h2>${c.svg}
        <p class="definition">${esc(T["an.definition"])}: ${esc(c.definition)}</p>
        <button class="btn" data-csv="${esc(c.id)}">${esc(T["an.csv"])}</button></s-section>`).join("");
      const exports = a.exports.map((e) => `<button class="btn" data-csv="${esc(e)}">${esc(T["an.csv"])}: ${esc(e)}</button>`).join(" ");
      const asOf = `<p class="definition" id="computed-at">${esc(when(a.computed_at))}</p>`;
      $("#analytics").innerHTML = `<s-section>${asOf}<div class="kpis">${kpis}</div></s-section><div class="charts">${charts}</div>
        <s-section><div class="row">${exports}</div></s-section>`;
      $$("[data-csv]").forEach((b) => b.addEventListener("click", run(() => download(`/api/analytics/export/${b.dataset.csv}.csv`, `${b.dataset.csv}.csv`))));
    },
    bind() {},
  };

  /* ---------------------------------------------------------------- what-if */
  const signed = (n) => { const v = Number(n); return `${v > 0 ? "+" : ""}${n === undefined ? "" : (Number.isInteger(v) ? v : n)}`; };
  const diff = (a, b) => { const d = Number(b) - Number(a); return signed(Number.isInteger(d) ? d : d.toFixed(2)); };
  const table = (id, head, body) => `<table class="table" id="${id}"><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead><tbody>${body}</tbody></table>`;
  const whatif = {
    timer: null,
    async load() {
      const data = await api("GET", "/api/whatif");
      whatif.live = data.program;
      if (!$("#whatif-json").value) $("#whatif-json").value = JSON.stringify(data.program, null, 2);
      $("#whatif-runs tbody").innerHTML = rows(data.runs, (r) => [`#${r.id}`, badge(r.status), when(r.created_at),
        r.liability_change ? `<span class="num">${esc(signed(r.liability_change.amount))} ${esc(r.liability_change.currency)}</span>` : "",
        `<button class="btn" data-run="${r.id}">${esc(T["wi.open"])}</button>`]);
      $$("[data-run]").forEach((b) => b.addEventListener("click", run(() => whatif.poll(b.dataset.run))));
    },
    async start() {
      clearErrors();
      let draft;
      try { draft = JSON.parse($("#whatif-json").value); } catch {
        showErrors({data: {path: "$", error: T["wi.bad_json"]}, message: T["wi.bad_json"]});
        return;
      }
      whatif.show(await api("POST", "/api/whatif", {program: draft}));
    },
    async poll(id) { whatif.show(await api("GET", `/api/whatif/${id}`)); },
    show(r) {
      $("#whatif-progress").max = Math.max(r.total || 0, r.done || 0, 1);
      $("#whatif-progress").value = r.status === "done" ? $("#whatif-progress").max : (r.done || 0);
      $("#whatif-status").textContent = `#${r.id} ${T[`wi.status.${r.status}`] || r.status} · ${r.done}/${r.total}${r.error ? ` · ${r.error}` : ""}`;
      clearTimeout(whatif.timer);
      if (r.status === "queued" || r.status === "running") {
        whatif.timer = setTimeout(() => whatif.poll(r.id).catch((e) => toast(e.message, true)), 1000);
        return;
      }
      if (r.report) $("#whatif-report").innerHTML = whatif.render(r.report);
      whatif.load().catch((e) => toast(e.message, true));
    },
    render(rep) {
      const L = rep.live, D = rep.draft;
      const lines = [["wi.issued", L.issued, D.issued], ["wi.redeemed", L.expected_redeemed, D.expected_redeemed],
        ["wi.redeemed_money", L.expected_redemptions.amount, D.expected_redemptions.amount], ["wi.expired", L.expired, D.expired],
        ["wi.outstanding", L.outstanding, D.outstanding], ["wi.point_value", L.point_value, D.point_value],
        ["wi.liability", L.liability.amount, D.liability.amount]];
      const summary = table("whatif-summary", ["", T["wi.live"], T["wi.draft_col"], T["wi.change"]],
        lines.map(([k, a, b]) => `<tr data-figure="${k}"><td>${esc(T[k])}</td><td class="num">${esc(a)}</td><td class="num">${esc(b)}</td><td class="num">${esc(diff(a, b))}</td></tr>`).join(""));
      const intro = T["wi.orders"].replace("{orders}", rep.orders).replace("{customers}", rep.customers).replace("{rate}", rep.redemption_rate);
      const months = table("whatif-months", [T["wi.month"], T["wi.live"], T["wi.draft_col"], T["wi.change"]],
        rows(rep.months, (m) => [esc(m.month), `<span class="num">${m.live}</span>`, `<span class="num">${m.draft}</span>`, `<span class="num">${diff(m.live, m.draft)}</span>`]));
      const tiers = table("whatif-tiers", [T["wi.tier"], T["wi.live"], T["wi.draft_col"], T["wi.change"]],
        rows(rep.tiers, (t) => [esc(t.tier), `<span class="num">${t.live}</span>`, `<span class="num">${t.draft}</span>`, `<span class="num">${diff(t.live, t.draft)}</span>`]));
      const ch = rep.tier_changes;
      const moves = table("whatif-transitions", [T["wi.from"], T["wi.to"], T["wi.customers"]],
        rows(ch.transitions, (t) => [esc(t.from), esc(t.to), `<span class="num">${t.customers}</span>`]));
      const people = table("whatif-customers", [T["wi.customers"], T["wi.from"], T["wi.to"]],
        rows(ch.customers, (c) => [esc(c.email || c.customer), esc(c.from), esc(c.to)]));
      return `<s-section><h2>${esc(T["wi.liability_change"])}: <span id="whatif-liability-change">${esc(signed(rep.liability_change.amount))} ${esc(rep.liability_change.currency)}</span></h2>
        <p class="definition">${esc(intro)}</p>${summary}</s-section>
        <s-section><h2>${esc(T["wi.months"])}</h2>${months}</s-section>
        <s-section><h2>${esc(T["wi.tiers"])}</h2>${tiers}</s-section>
        <s-section><h2>${esc(T["wi.tier_changes"])}: ${ch.count}</h2>${moves}${people}</s-section>`;
    },
    bind() {
      $("#whatif-run").addEventListener("click", run(whatif.start));
      $("#whatif-reset").addEventListener("click", () => { $("#whatif-json").value = JSON.stringify(whatif.live, null, 2); });
      $("#whatif-file").addEventListener("change", run(async () => {
        const file = $("#whatif-file").files[0];
        if (file) $("#whatif-json").value = await file.text();
      }));
    },
  };

  /* ---------------------------------------------------------------- import from another loyalty app */
  const loyaltyImport = {
    async body() {
      const file = $("#import-file").files[0];
      if (!file) throw Object.assign(new Error(T["imp.choose_file"]), {status: 400, data: {field: "$", error: T["imp.choose_file"]}});
      const mapping = {};
      $$("[data-map]").forEach((input) => { if (input.value.trim()) mapping[input.dataset.map] = input.value.trim(); });
      return {csv: await file.text(), source: $("#import-source").value, mapping};
    },
    render(r) {
      const p = r.points;
      const lines = [["imp.rows", `${r.rows} (${r.invalid} ✗)`], ["imp.matched", `${r.matched} · ${p.matched} ${T["imp.points"]}`],
        ["imp.unmatched", `${r.unmatched} · ${p.unmatched} ${T["imp.points"]}`], ["imp.already", r.already_imported],
        ["imp.to_write", `${r.to_write} · ${p.to_write} ${T["imp.points"]}`]];
      const w = r.written;
      const written = w ? `<p class="banner success" id="import-written">${esc(T["imp.written"].replace("{entries}", w.entries).replace("{points}", w.points)
        .replace("{tiers}", w.tiers).replace("{birthdays}", w.birthdays).replace("{codes}", w.referral_codes))}</p>` : "";
      const problems = (list) => rows(list, (x) => [esc(x.line), esc(x.field), esc(x.message)]);
      return `<s-section>${written}<table class="table" id="import-summary"><tbody>${lines.map(([k, v]) => `<tr data-figure="${k}"><td>${esc(T[k])}</td><td class="num">${esc(v)}</td></tr>`).join("")}</tbody></table>
        <p class="definition">${esc(Object.entries(r.columns).map(([f, h]) => `${f} ← ${h}`).join(" · "))}</p></s-section>
        <s-section><h2>${esc(T["imp.unmatched"])}</h2><ul id="import-unmatched">${r.unmatched_emails.map((e) => `<li>${esc(e)}</li>`).join("")}</ul></s-section>
        <s-section><h2>${esc(T["imp.refused"])}</h2><table class="table"><tbody>${problems(r.problems)}</tbody></table>
        <h2>${esc(T["imp.notes"])}</h2><table class="table"><tbody>${problems(r.notes)}</tbody></table></s-section>`;
    },
    async dryRun() {
      clearErrors();
      const r = await api("POST", "/api/loyalty-import/dry-run", await loyaltyImport.body());
      $("#import-report").innerHTML = loyaltyImport.render(r);
      $("#import-apply").disabled = r.matched === r.already_imported;
    },
    async apply() {
      clearErrors();
      const r = await api("POST", "/api/loyalty-import/apply", await loyaltyImport.body());
      $("#import-report").innerHTML = loyaltyImport.render(r);
      $("#import-apply").disabled = true;
      toast(T.saved);
    },
    async load() {},
    bind() {
      $("#import-dry-run").addEventListener("click", run(loyaltyImport.dryRun));
      $("#import-apply").addEventListener("click", run(loyaltyImport.apply));
      $("#import-file").addEventListener("change", () => { $("#import-apply").disabled = true; $("#import-report").innerHTML = ""; });
    },
  };

  /* ---------------------------------------------------------------- open API keys + review apps */
  const developers = {
    async load() {
      const d = await api("GET", "/api/developers");
      $("#api-base").textContent = d.api_base;
      $("#judgeme-url").textContent = d.judgeme_url;
      $("#keys tbody").innerHTML = rows(d.keys, (k) => [esc(k.name), `<code>${esc(k.prefix)}</code>`, when(k.created_at), when(k.last_used_at),
        k.revoked_at ? badge(T["dev.revoked"]) : `<button class="btn" data-revoke="${k.id}">${esc(T["dev.revoke"])}</button>`]);
      $$("[data-revoke]").forEach((b) => b.addEventListener("click", run(async () => {
        await api("DELETE", `/api/api-keys/${b.dataset.revoke}`);
        toast(T.done);
        await developers.load();
      })));
      $("#custom-actions tbody").innerHTML = rows(d.actions, (a) => [`<code>${esc(a.id)}</code>`, `<span class="num">${esc(a.points)}</span>`,
        esc(a.limit ?? "∞"), esc(a.cooldown ?? "—")]);
      const connected = Object.fromEntries(d.integrations.map((i) => [i.provider, i]));
      for (const provider of ["judgeme", "yotpo"]) {
        const i = connected[provider];
        $(`#${provider}-status`).innerHTML = i ? `${badge(T.done)} ${when(i.last_event_at)}` : badge(T.todo);
      }
    },
    bind() {
      $("#key-form").addEventListener("submit", run(async () => {
        clearErrors();
        const k = await api("POST", "/api/api-keys", {name: $("#key-name").value});
        $("#new-key-value").textContent = k.key;
        $("#new-key").hidden = false;
        $("#key-name").value = "";
        await developers.load();
      }));
      $("#judgeme-form").addEventListener("submit", run(async () => {
        clearErrors();
        await api("PUT", "/api/review-integrations/judgeme", {secret: $("#judgeme-secret").value});
        $("#judgeme-secret").value = "";
        toast(T.saved);
        await developers.load();
      }));
      $("#yotpo-connect").addEventListener("click", run(async () => {
        const y = await api("POST", "/api/review-integrations/yotpo", {});
        $("#yotpo-url").textContent = y.url;
        $("#yotpo-new").hidden = false;
        await developers.load();
      }));
      $$("[data-disconnect]").forEach((b) => b.addEventListener("click", run(async () => {
        await api("DELETE", `/api/review-integrations/${b.dataset.disconnect}`);
        toast(T.done);
        await developers.load();
      })));
    },
  };


  /* ---------------------------------------------------------------- webhooks (outbound) */
  const fmt = (text, values) => text.replace(/\{(\w+)\}/g, (m, k) => (k in values ? String(values[k]) : m));
  const webhooks = {
    topics: [],
    async load() {
      const [data, log] = await Promise.all([api("GET", "/api/webhooks"), api("GET", "/api/webhooks/deliveries")]);
      webhooks.topics = data.topics;
      if (!$("#wh-topics input")) {
        $("#wh-topics").insertAdjacentHTML("beforeend", data.topics.map((t) => `<label class="check"><input type="checkbox" value="${esc(t)}" checked> <code>${esc(t)}</code></label>`).join(""));
      }
      $("#wh-endpoints tbody").innerHTML = data.endpoints.length ? rows(data.endpoints, (e) => [
        `<code>${esc(e.url)}</code><br>${e.topics.map((t) => `<span class="badge">${esc(t)}</span>`).join(" ")}`,
        e.enabled ? badge("enabled") : `${badge("disabled")}<br><span class="definition">${esc(e.disabled_reason || "")}</span>`,
        e.last_delivery ? `${esc(T["wh.last"])}: <strong>${esc(e.last_delivery.last_status_code ?? "—")}</strong> ${when(e.last_delivery.last_attempt_at)}<br><span class="definition">${esc(e.last_delivery.last_error || "")}</span>` : "—",
        `<div class="row"><button class="btn" data-toggle="${e.id}" data-enabled="${e.enabled}">${esc(e.enabled ? T["wh.disable"] : T["wh.enable"])}</button>
         <button class="btn" data-rotate="${e.id}">${esc(T["wh.rotate"])}</button>
         <button class="btn critical" data-remove="${e.id}">${esc(T["wh.delete"])}</button></div>`]) : `<tr><td>${esc(T["wh.none"])}</td></tr>`;
      $$("[data-toggle]").forEach((b) => b.addEventListener("click", run(async () => {
        await api("PATCH", `/api/webhooks/${b.dataset.toggle}`, {enabled: b.dataset.enabled !== "true"});
        toast(T.saved);
        await webhooks.load();
      })));
      $$("[data-rotate]").forEach((b) => b.addEventListener("click", run(async () => {
        webhooks.showSecret((await api("POST", `/api/webhooks/${b.dataset.rotate}/rotate-secret`)).secret);
      })));
      $$("[data-remove]").forEach((b) => b.addEventListener("click", run(async () => {
        await api("DELETE", `/api/webhooks/${b.dataset.remove}`);
        toast(T.done);
        await webhooks.load();
      })));
      $("#wh-deliveries tbody").innerHTML = `<tr><th>event</th><th>topic</th><th>status</th><th>HTTP</th><th>attempts</th><th></th></tr>` +
        rows(log.deliveries, (d) => [`<code>${esc(d.event_id)}</code>`, esc(d.topic), badge(d.status), esc(d.last_status_code ?? "—"),
          `<span class="num">${esc(d.attempts)}</span>`, `${when(d.last_attempt_at)}<br><span class="definition">${esc(d.last_error || "")}</span>`]);
    },
    showSecret(secret) {
      $("#wh-secret-value").textContent = secret;
      $("#wh-secret").hidden = false;
    },
    bind() {
      $("#wh-form").addEventListener("submit", run(async () => {
        clearErrors($("#wh-form"));
        const topics = $$("#wh-topics input:checked").map((i) => i.value);
        const created = await api("POST", "/api/webhooks", {url: $("#wh-url").value, topics});
        webhooks.showSecret(created.secret);
        $("#wh-url").value = "";
        toast(T.saved);
        await webhooks.load();
      }));
    },
  };

  /* ---------------------------------------------------------------- billing */
  const billing = {
    async load() {
      const b = await api("GET", "/api/billing");
      $("#bill-off").hidden = b.enabled;
      $("#bill-on").hidden = !b.enabled;
      if (!b.enabled) return;
      const u = b.usage;
      $("#bill-plan").textContent = b.plan.name;
      $("#bill-status").textContent = b.status || (b.plan.free ? T["bill.current_badge"] : "");
      $("#bill-status").className = `badge ${b.status || ""}`;
      $("#bill-usage").textContent = u.allowance === null ? T["bill.unlimited"] : fmt(T["bill.orders"], u);
      $("#bill-trial").textContent = b.pending_plan ? fmt(T["bill.pending"], {plan: b.pending_plan.name})
        : (b.trial_ends_at ? fmt(T["bill.trial_ends"], {date: day(b.trial_ends_at)}) : "");
      $("#bill-plans").innerHTML = b.plans.map((p) => `<div class="preset${p.id === b.plan.id ? " chosen" : ""}" data-plan="${esc(p.id)}">
        <h3>${esc(p.name)}</h3><p>${esc(fmt(T["bill.per_month"], {price: p.price, currency: p.currency, orders: p.orders_per_month ?? "∞"}))}</p>
        ${p.trial_days ? `<p>${esc(fmt(T["bill.trial"], {days: p.trial_days}))}</p>` : ""}
        ${p.id === b.plan.id ? `<span class="badge done">${esc(T["bill.current_badge"])}</span>` : `<button class="btn primary" data-choose="${esc(p.id)}">${esc(T["bill.choose"])}</button>`}</div>`).join("");
      $$("[data-choose]").forEach((btn) => btn.addEventListener("click", run(async () => {
        const r = await api("POST", "/api/billing/subscribe", {plan: btn.dataset.choose});
        // Shopify's approval page refuses to be framed (X-Frame-Options: DENY): open it in the top window
        // (https://community.shopify.com/c/Shopify-APIs-SDKs/Can-t-create-recurring-charge-due-to-X-Frame-Options-deny/m-p/850286).
        if (r.confirmation_url) window.open(r.confirmation_url, "_top");
        else { toast(T.saved); await billing.load(); }
      })));
    },
    bind() {},
  };

  async function allowanceBanner() {
    const b = await api("GET", "/api/billing");
    if (!b.enabled || !b.usage.over) return;
    const el = $("#allowance-banner");
    el.textContent = fmt(T["bill.over"], b.usage);
    el.hidden = false;
  }

  const PAGES = {home, program, customers, referrals, emails, complaints, analytics, whatif, import: loyaltyImport, developers,
    webhooks, billing};
  const current = PAGES[DATA.page];
  current.bind();
  current.load().catch((error) => toast(error.message, true));
  allowanceBanner().catch(() => {});
  window.embajador = {api, reload: () => current.load()};
})();
