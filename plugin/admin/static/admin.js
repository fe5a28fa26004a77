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
    for (const [path, message] of Object.entries(errors)) {
      const input = root.querySelector(`[data-path="${CSS.escape(path)}"]`);
      if (input) input.classList.add("invalid");
      const slot = root.querySelector(`[data-error="${CSS.escape(path)}"]`) || root.querySelector('[data-error="$"]');
      if (slot) slot.textContent = slot.dataset.error === path ? message : `${path}: ${message}`;
    }
    toast(T.fix_fields, true);
  }

  const run = (fn) => async (event) => {
    if (event) event.preventDefault();
    try { await fn(event); } catch (error) { if (error.status === 400) showErrors(error); else toast(error.message, true); }
  };

  const askReason = (title) => new Promise((resolve) => {
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
  const getPath = (obj, path) => path.replace(/\[(\d+)\]/g, ".$1").split(".").reduce((o, k) => (o == null ? undefined : o[k]), obj);
  function setPath(obj, path, value) {
    const keys = path.replace(/\[(\d+)\]/g, ".$1").split(".");
    const last = keys.pop();
    const target = keys.reduce((o, k) => (o[k] = o[k] ?? {}), obj);
    target[last] = value;
  }
  const program = {
    saved: null, current: null, timer: null,
    async load() {
      program.saved = await api("GET", "/api/program");
      program.current = structuredClone(program.saved);
      program.fill(true);
      program.setDirty(false);
      await Promise.all([program.validate(), program.versions()]);
    },
    fill(withJson) {
      $$("[data-currency]").forEach((el) => { el.textContent = program.current.currency; });
      $$("#program-form [data-path]").forEach((input) => {
        if (input.id === "program-json" || input.closest("#tiers")) return;
        const value = getPath(program.current, input.dataset.path);
        input.value = value ?? "";
      });
      const tiers = program.current.tiers || [];
      $("#tiers tbody").innerHTML = tiers.map((t, i) => `<tr data-tier="${i}">
        <td><input data-path="tiers[${i}].name" value="${esc(t.name)}" aria-label="${esc(T["prog.name"])} ${i + 1}"></td>
        <td><select data-path="tiers[${i}].threshold.metric">${["spend", "points", "orders", "referrals"].map((m) => `<option${m === t.threshold.metric ? " selected" : ""}>${m}</option>`).join("")}</select></td>
        <td><input data-path="tiers[${i}].threshold.value" value="${esc(t.threshold.value)}" aria-label="${esc(T["prog.threshold"])} ${i + 1}"></td>
        <td><input type="number" step="0.05" min="0" data-path="tiers[${i}].multiplier" value="${esc(t.multiplier)}" aria-label="${esc(T["prog.multiplier"])} ${i + 1}"></td>
        <td><button type="button" class="btn" data-remove="${i}">${esc(T["prog.remove"])}</button></td></tr>`).join("");
      if (withJson) $("#program-json").value = JSON.stringify(program.current, null, 2);
    },
    read(input) {
      const path = input.dataset.path;
      let value = input.value;
      if (input.type === "number") value = value === "" ? null : Number(value);
      if (/threshold\.value$/.test(path)) {
        const metric = getPath(program.current, path.replace(/value$/, "metric"));
        value = metric === "spend" ? value : (value === "" ? null : Number(value));
      }
      setPath(program.current, path, value);
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
        } else if (input.dataset.path) {
          program.read(input);
          $("#program-json").value = JSON.stringify(program.current, null, 2);
        }
        program.changed();
      });
      form.addEventListener("change", (event) => { if (/metric$/.test(event.target.dataset.path || "")) program.fill(true); });
      form.addEventListener("click", (event) => {
        const i = event.target.dataset.remove;
        if (i === undefined) return;
        program.current.tiers.splice(Number(i), 1);
        program.fill(true);
        program.changed();
      });
      $("#add-tier").addEventListener("click", () => {
        const tiers = (program.current.tiers = program.current.tiers || []);
        tiers.push({name: "", threshold: {metric: "spend", value: ""}, multiplier: 1, entry_points: 0});
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
        const reason = await askReason(T["ref.reject"]);
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
  const emails = {
    flow: null,
    async load() {
      const data = await api("GET", "/api/emails/flows");
      $("#flows tbody").innerHTML = `<tr><th>flow</th><th>${esc(T["em.kind"])}</th><th>sent</th><th>delivered</th><th>open</th><th>click</th><th>bounce</th><th>unsubscribe</th><th></th></tr>` +
        rows(data.flows, (f) => [esc(f.flow), `<span class="badge">${esc(f.marketing ? T["em.marketing"] : T["em.transactional"])}</span>`,
          ...["sent", "delivered", "open", "click", "bounce", "unsubscribe"].map((k) => `<span class="num">${f.counts[k] || 0}</span>`),
          `<button class="btn" data-preview="${esc(f.flow)}">${esc(T["em.preview"])}</button>`]);
      $$("[data-preview]").forEach((b) => b.addEventListener("click", run(() => emails.preview(b.dataset.preview))));
    },
    async preview(flow) {
      emails.flow = flow || emails.flow;
      $("#email-preview-section").hidden = false;
      $("#preview-flow").textContent = emails.flow;
      const html = await api("GET", `/api/emails/preview/${emails.flow}?locale=${$("#preview-lang").value}`);
      $("#preview-frame").srcdoc = html;
    },
    bind() {
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

  const PAGES = {home, program, customers, referrals, emails, complaints, analytics, developers, webhooks, billing};
  const current = PAGES[DATA.page];
  current.bind();
  current.load().catch((error) => toast(error.message, true));
  allowanceBanner().catch(() => {});
  window.embajador = {api, reload: () => current.load()};
})();
