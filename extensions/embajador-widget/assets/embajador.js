/* Embajador storefront widget: no dependencies, mounts itself (README "Storefront widget").
   Talks only to {proxy}/customer, {proxy}/redeem and {proxy}/birthday through the App Proxy. */
(() => {
  'use strict';
  if (window.Embajador) return;
  const me = document.currentScript || document.querySelector('script[data-embajador]');
  const ds = (me && me.dataset) || {};
  const proxy = (ds.proxyPath || '/apps/embajador').replace(/\/$/, '');
  const T = {
    es: {
      rewards: 'Recompensas', title: 'Programa de recompensas', close: 'Cerrar', hi: 'Hola, {n}', hello: 'Hola',
      avail: 'puntos disponibles', pend: '{n} puntos pendientes: estarán disponibles el {d}.',
      pendWhy: 'Los puntos de una compra se liberan cuando termina el plazo de devolución.',
      tier: 'Nivel: {t}', spend: 'Te faltan {v} en compras para llegar a {t}', points: 'Te faltan {v} puntos para llegar a {t}',
      orders: 'Te faltan {v} compras para llegar a {t}', referrals: 'Te faltan {v} referidos para llegar a {t}',
      top: '¡Estás en el nivel más alto!', progress: 'Progreso hacia {t}', pts: '{n} puntos', redeem: 'Canjear',
      need: 'Te faltan {n} puntos', notEnough: 'No tienes suficientes puntos para esta recompensa.',
      code: 'Tu código: ', copy: 'Copiar', copied: '¡Copiado!', apply: 'Aplicar en el pago', codes: 'Tus códigos',
      refer: 'Invita a tus amigos', referText: 'Tu amigo recibe {f} y tú ganas {n} puntos con su primera compra.',
      link: 'Tu enlace', share: 'Compartir', activity: 'Actividad reciente', pending: 'pendiente',
      earn: 'Compra', redeemK: 'Canje', redeem_refund: 'Puntos devueltos', clawback: 'Devolución', expire: 'Puntos vencidos',
      adjust: 'Ajuste', referral: 'Amigo referido', tier_bonus: 'Bono de nivel', signup: 'Registro', birthday: 'Cumpleaños',
      marketing_consent: 'Suscripción', bday: 'Tu cumpleaños', bdayText: 'Guárdalo y recibe {n} puntos cada año.',
      save: 'Guardar', saved: '¡Guardado!', bdayErr: 'Revisa la fecha.', how: 'Cómo ganar puntos',
      rate: '{p} puntos por cada {m} en compras', signupEarn: '{n} puntos al crear tu cuenta',
      birthdayEarn: '{n} puntos en tu cumpleaños', consentEarn: '{n} puntos al suscribirte a nuestros correos',
      tiers: 'Niveles', from_spend: 'desde {v} en compras', from_points: 'desde {v} puntos', from_orders: 'desde {v} compras',
      from_referrals: 'desde {v} referidos', mult: 'puntos ×{x}', entry: '+{n} puntos al llegar',
      join: 'Únete y gana puntos con cada compra.', signIn: 'Iniciar sesión', create: 'Crear cuenta',
      error: 'No pudimos cargar tus puntos. Inténtalo de nuevo en un momento.', retry: 'Reintentar',
      busy: 'Demasiados intentos. Espera un momento y vuelve a intentarlo.', fail: 'Algo salió mal. Tus puntos no se gastaron.',
      product: 'Gana {n} puntos con esta compra', loading: 'Cargando…', none: 'Pronto habrá recompensas.',
      pct: '{v}% de descuento', off: '{m} de descuento', ship: 'envío gratis', actEarn: '{n} puntos: {a}',
      x_review: 'Escribe una reseña', x_photo_review: 'Reseña con foto', x_instagram_follow: 'Síguenos en Instagram'
    },
    en: {
      rewards: 'Rewards', title: 'Rewards program', close: 'Close', hi: 'Hi, {n}', hello: 'Hi there',
      avail: 'points available', pend: '{n} pending points: available on {d}.',
      pendWhy: 'Points from a purchase are released when the return period ends.',
      tier: 'Tier: {t}', spend: 'Spend {v} more to reach {t}', points: 'Earn {v} more points to reach {t}',
      orders: '{v} more orders to reach {t}', referrals: '{v} more referrals to reach {t}',
      top: 'You are at the top tier!', progress: 'Progress to {t}', pts: '{n} points', redeem: 'Redeem',
      need: '{n} more points needed', notEnough: 'You do not have enough points for this reward.',
      code: 'Your code: ', copy: 'Copy', copied: 'Copied!', apply: 'Apply at checkout', codes: 'Your codes',
      refer: 'Refer your friends', referText: 'Your friend gets {f} and you earn {n} points on their first order.',
      link: 'Your link', share: 'Share', activity: 'Recent activity', pending: 'pending',
      earn: 'Purchase', redeemK: 'Redeemed', redeem_refund: 'Points returned', clawback: 'Refund', expire: 'Points expired',
      adjust: 'Adjustment', referral: 'Friend referred', tier_bonus: 'Tier bonus', signup: 'Sign-up', birthday: 'Birthday',
      marketing_consent: 'Newsletter', bday: 'Your birthday', bdayText: 'Save it and get {n} points every year.',
      save: 'Save', saved: 'Saved!', bdayErr: 'Please check the date.', how: 'How to earn points',
      rate: '{p} points for every {m} spent', signupEarn: '{n} points when you create an account',
      birthdayEarn: '{n} points on your birthday', consentEarn: '{n} points for subscribing to our emails',
      tiers: 'Tiers', from_spend: 'from {v} spent', from_points: 'from {v} points', from_orders: 'from {v} orders',
      from_referrals: 'from {v} referrals', mult: '×{x} points', entry: '+{n} points on arrival',
      join: 'Join and earn points on every purchase.', signIn: 'Sign in', create: 'Create account',
      error: 'We could not load your points. Please try again in a moment.', retry: 'Try again',
      busy: 'Too many attempts. Please wait a moment and try again.', fail: 'Something went wrong. Your points were not spent.',
      product: 'Earn {n} points with this purchase', loading: 'Loading…', none: 'Rewards are coming soon.',
      pct: '{v}% off', off: '{m} off', ship: 'free shipping', actEarn: '{n} points: {a}',
      x_review: 'Write a review', x_photo_review: 'Review with a photo', x_instagram_follow: 'Follow us on Instagram'
    },
    pt: {
      rewards: 'Recompensas', title: 'Programa de recompensas', close: 'Fechar', hi: 'Olá, {n}', hello: 'Olá',
      avail: 'pontos disponíveis', pend: '{n} pontos pendentes: disponíveis em {d}.',
      pendWhy: 'Os pontos de uma compra são liberados quando termina o prazo de devolução.',
      tier: 'Nível: {t}', spend: 'Faltam {v} em compras para chegar a {t}', points: 'Faltam {v} pontos para chegar a {t}',
      orders: 'Faltam {v} compras para chegar a {t}', referrals: 'Faltam {v} indicações para chegar a {t}',
      top: 'Você está no nível mais alto!', progress: 'Progresso para {t}', pts: '{n} pontos', redeem: 'Resgatar',
      need: 'Faltam {n} pontos', notEnough: 'Você não tem pontos suficientes para esta recompensa.',
      code: 'Seu código: ', copy: 'Copiar', copied: 'Copiado!', apply: 'Aplicar no checkout', codes: 'Seus códigos',
      refer: 'Indique seus amigos', referText: 'Seu amigo ganha {f} e você ganha {n} pontos na primeira compra dele.',
      link: 'Seu link', share: 'Compartilhar', activity: 'Atividade recente', pending: 'pendente',
      earn: 'Compra', redeemK: 'Resgate', redeem_refund: 'Pontos devolvidos', clawback: 'Devolução', expire: 'Pontos expirados',
      adjust: 'Ajuste', referral: 'Amigo indicado', tier_bonus: 'Bônus de nível', signup: 'Cadastro', birthday: 'Aniversário',
      marketing_consent: 'Newsletter', bday: 'Seu aniversário', bdayText: 'Salve e ganhe {n} pontos todo ano.',
      save: 'Salvar', saved: 'Salvo!', bdayErr: 'Verifique a data.', how: 'Como ganhar pontos',
      rate: '{p} pontos a cada {m} em compras', signupEarn: '{n} pontos ao criar sua conta',
      birthdayEarn: '{n} pontos no seu aniversário', consentEarn: '{n} pontos ao assinar nossos e-mails',
      tiers: 'Níveis', from_spend: 'a partir de {v} em compras', from_points: 'a partir de {v} pontos',
      from_orders: 'a partir de {v} compras', from_referrals: 'a partir de {v} indicações', mult: 'pontos ×{x}',
      entry: '+{n} pontos ao chegar', join: 'Participe e ganhe pontos em cada compra.', signIn: 'Entrar',
      create: 'Criar conta', error: 'Não foi possível carregar seus pontos. Tente novamente em instantes.',
      retry: 'Tentar novamente', busy: 'Muitas tentativas. Aguarde um momento e tente de novo.',
      fail: 'Algo deu errado. Seus pontos não foram gastos.', product: 'Ganhe {n} pontos com esta compra',
      loading: 'Carregando…', none: 'Em breve teremos recompensas.', pct: '{v}% de desconto', off: '{m} de desconto',
      ship: 'frete grátis', actEarn: '{n} pontos: {a}', x_review: 'Escreva uma avaliação',
      x_photo_review: 'Avaliação com foto', x_instagram_follow: 'Siga-nos no Instagram'
    }
  };
  const S = { data: null, err: false, lang: 'en', open: false, msg: {}, note: {} };
  const arr = (x) => (Array.isArray(x) ? x : []);
  const esc = (s) => String(s == null ? '' : s).replace(/[&<>"']/g, (c) => '&#' + c.charCodeAt(0) + ';');
  const t = (k, v) => (T[S.lang][k] || T.en[k] || '').replace(/\{(\w)\}/g, (_, x) => (v && v[x] != null ? v[x] : ''));
  const loc = () => {
    try { return Intl.getCanonicalLocales(document.documentElement.lang || S.lang)[0]; } catch (e) { return S.lang; }
  };
  // Intl formatters are costly to create: one per kind and locale.
  const F = {};
  const fmt = (key, where, opts) => F[key + where] || (F[key + where] = key === 'd' ? new Intl.DateTimeFormat(where, opts) : new Intl.NumberFormat(where, opts));
  const num = (n) => fmt('n', loc()).format(Number(n || 0));
  const day = (iso) => fmt('d', loc(), { day: 'numeric', month: 'long' }).format(new Date(iso));
  // A currency written as its home market reads it when the page names no region (es + CLP: $5.000).
  const HOME = { CLP: 'CL', MXN: 'MX', COP: 'CO', PEN: 'PE', ARS: 'AR', UYU: 'UY', BRL: 'BR', USD: 'US' };
  const money = (v) => {
    const cur = S.data && S.data.currency, l = loc();
    const where = l.includes('-') || !HOME[cur] ? l : l + '-' + HOME[cur];
    try { return fmt('m' + cur, where, { style: 'currency', currency: cur, currencyDisplay: 'narrowSymbol' }).format(Number(v)); } catch (e) { return v + ' ' + (cur || ''); }
  };
  const pick = () => {
    for (const l of [document.documentElement.lang, S.data && S.data.locale]) {
      const k = String(l || '').slice(0, 2).toLowerCase();
      if (T[k]) return k;
    }
    return 'en';
  };
  const member = () => !!(S.data && S.data.customer && S.data.points);
  const program = () => (S.data && S.data.program) || {};

  async function api(path, body) {
    const init = { credentials: 'same-origin', headers: { Accept: 'application/json' } };
    if (body) Object.assign(init, { method: 'POST', body: JSON.stringify(body), headers: { Accept: 'application/json', 'Content-Type': 'application/json' } });
    const r = await fetch(proxy + path, init);
    let json = null;
    try { json = await r.json(); } catch (e) { /* not JSON: treated as a failure */ }
    return { status: r.status, ok: r.ok, body: json };
  }

  async function load() {
    S.busy = true;
    try {
      const r = await api('/customer');
      S.data = r.ok && r.body && typeof r.body === 'object' && !Array.isArray(r.body) ? r.body : null;
    } catch (e) { S.data = null; }
    S.err = !S.data;
    S.busy = false;
    render();
  }

  const discount = (d) => (!d ? '' : d.type === 'percentage' ? t('pct', { v: d.value }) : d.type === 'free_shipping' ? t('ship') : t('off', { m: money(d.value) }));
  const button = (act, label, attrs, alt) => `<button type="button" data-act="${act}" ${attrs || ''}${alt ? ' class="emb-alt"' : ''}>${esc(label)}</button>`;
  const copyRow = (text, href) => `<div class="emb-row"><span class="emb-code">${esc(text)}</span>${button('copy', t('copy'), `data-text="${esc(text)}"`, 1)}${href ? `<a class="emb-btn" href="${esc(href)}">${esc(t('apply'))}</a>` : ''}</div>`;
  const status = (key, text, cls) => `<p class="${cls || 'emb-muted'}" role="status" data-note="${key}">${esc(text || '')}</p>`;

  function balance() {
    const p = S.data.points, name = S.data.customer.first_name;
    let h = `<h3>${esc(name ? t('hi', { n: name }) : t('hello'))}</h3><p><span class="emb-big">${num(p.available)}</span> ${esc(t('avail'))}</p>`;
    if (p.pending > 0) h += `<p>${esc(t('pend', { n: num(p.pending), d: p.pending_release_at ? day(p.pending_release_at) : '…' }))}</p><p class="emb-muted">${esc(t('pendWhy'))}</p>`;
    return h;
  }

  function tier() {
    const cur = S.data.tier, next = S.data.next_tier;
    let h = cur && cur.name ? `<h3>${esc(t('tier', { t: cur.name }))}</h3>` : '';
    if (next && next.name) {
      const pct = Math.max(0, Math.min(100, Number(next.progress_percent) || 0));
      const v = next.metric === 'spend' ? money(next.remaining) : num(next.remaining);
      h += `<div class="emb-bar" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow="${pct}" aria-label="${esc(t('progress', { t: next.name }))}"><span style="width:${pct}%"></span></div>`;
      h += `<p>${esc(t(T.en[next.metric] ? next.metric : 'points', { v, t: next.name }))}</p>`;
    } else if (cur && cur.name) h += `<p>${esc(t('top'))}</p>`;
    return h;
  }

  function rewards(actions) {
    const list = arr(S.data.rewards);
    if (!list.length) return `<h3>${esc(t('rewards'))}</h3><p>${esc(t('none'))}</p>`;
    const avail = member() ? Number(S.data.points.available) || 0 : 0;
    return `<h3>${esc(t('rewards'))}</h3><ul>` + list.map((r) => {
      const m = S.msg[r.id] || {};
      let h = `<li><span><strong>${esc(r.name)}</strong><br><span class="emb-muted">${esc(t('pts', { n: num(r.cost) }))}</span></span>`;
      if (actions) {
        h += button('redeem', t('redeem'), `data-id="${esc(r.id)}" aria-label="${esc(t('redeem') + ': ' + r.name)}"${m.busy ? ' disabled' : ''}`, r.cost > avail);
        if (m.code) h += `<div class="emb-row" role="status" tabindex="-1" data-focus="${esc(r.id)}"><span class="emb-ok">${esc(t('code'))}</span></div>${copyRow(m.code, '/discount/' + encodeURIComponent(m.code))}`;
        else if (m.err) h += `<p class="emb-err emb-row" role="alert" tabindex="-1" data-focus="${esc(r.id)}">${esc(t(m.err))}</p>`;
        else if (r.cost > avail) h += `<span class="emb-muted emb-row">${esc(t('need', { n: num(r.cost - avail) }))}</span>`;
      }
      return h + '</li>';
    }).join('') + '</ul>';
  }

  function codes() {
    const list = arr(S.data.codes).filter((c) => c && c.code && !Object.values(S.msg).some((m) => m.code === c.code));
    if (!list.length) return '';
    return `<h3>${esc(t('codes'))}</h3><ul>` + list.map((c) => `<li><span>${esc(c.reward_name || '')}</span>${copyRow(c.code, '/discount/' + encodeURIComponent(c.code))}</li>`).join('') + '</ul>';
  }

  function referral() {
    const ref = S.data.referral, prog = program().referral;
    if (!ref || !ref.url) return '';
    let h = `<h3>${esc(t('refer'))}</h3>`;
    if (prog) h += `<p>${esc(t('referText', { f: discount(prog.friend), n: num(prog.advocate_points) }))}</p>`;
    h += `<label class="emb-muted" for="emb-ref-${S.page ? 'p' : 'w'}">${esc(t('link'))}</label><div class="emb-row"><input id="emb-ref-${S.page ? 'p' : 'w'}" readonly value="${esc(ref.url)}">`;
    h += button('copy', t('copy'), `data-text="${esc(ref.url)}"`, 1);
    if (navigator.share) h += button('share', t('share'), `data-text="${esc(ref.url)}"`, 1);
    return h + '</div>' + status('copy');
  }

  function birthday() {
    const pts = (program().actions || {}).birthday;
    if (!(pts > 0) || S.data.customer.birthday_saved) return S.note.bday === 'saved' ? status('bday', t('saved'), 'emb-ok') : '';
    const id = 'emb-bd-' + (S.page ? 'p' : 'w');
    return `<h3>${esc(t('bday'))}</h3><p>${esc(t('bdayText', { n: num(pts) }))}</p><form data-act="bday" class="emb-row"><label for="${id}" class="emb-muted">${esc(t('bday'))}</label><input type="date" id="${id}" name="birthday" required max="${new Date().toISOString().slice(0, 10)}"><button type="submit">${esc(t('save'))}</button></form>${S.note.bday ? status('bday', t(S.note.bday), 'emb-err') : ''}`;
  }

  function activity() {
    const list = arr(S.data.activity).slice(0, 5);
    if (!list.length) return '';
    return `<h3>${esc(t('activity'))}</h3><ul>` + list.map((a) => {
      const label = (a.kind === 'action' && !/^(signup|birthday|marketing_consent)$/.test(a.action) ? act(a.action)
        : t(a.kind === 'action' ? a.action : a.kind === 'redeem' ? 'redeemK' : a.kind)) || t('adjust');
      const n = Number(a.points) || 0;
      return `<li><span>${esc(label)}<br><span class="emb-muted">${a.at ? esc(day(a.at)) : ''}${a.available_at ? ' · ' + esc(t('pending')) : ''}</span></span><strong>${n > 0 ? '+' : n < 0 ? '−' : ''}${num(Math.abs(n))}</strong></li>`;
    }).join('') + '</ul>';
  }

  // Actions outside the store (actions.custom): our words for the usual ids, else the merchant's name.
  const act = (id) => t('x_' + id) || (arr((program().actions || {}).custom).find((c) => c.id === id) || {}).name || id;

  function how() {
    const p = program(), e = p.earn || {}, a = p.actions || {};
    const items = [];
    if (e.points && e.per_amount) items.push(t('rate', { p: num(e.points), m: money(e.per_amount) }));
    if (a.signup > 0) items.push(t('signupEarn', { n: num(a.signup) }));
    if (a.birthday > 0) items.push(t('birthdayEarn', { n: num(a.birthday) }));
    if (a.marketing_consent > 0) items.push(t('consentEarn', { n: num(a.marketing_consent) }));
    arr(a.custom).forEach((c) => items.push(t('actEarn', { n: num(c.points), a: act(c.id) })));
    return items.length ? `<h3>${esc(t('how'))}</h3><ul>${items.map((i) => `<li>${esc(i)}</li>`).join('')}</ul>` : '';
  }

  function tiers() {
    const list = arr(program().tiers);
    if (!list.length) return '';
    return `<h3>${esc(t('tiers'))}</h3><ul>` + list.map((x) => {
      const th = x.threshold || {}, v = th.metric === 'spend' ? money(th.value) : num(th.value);
      const perks = [Number(x.multiplier) > 1 ? t('mult', { x: num(x.multiplier) }) : '', x.entry_points > 0 ? t('entry', { n: num(x.entry_points) }) : ''].filter(Boolean);
      return `<li><span><strong>${esc(x.name)}</strong><br><span class="emb-muted">${esc(t('from_' + th.metric, { v }))}</span></span><span>${esc(perks.join(' · '))}</span></li>`;
    }).join('') + '</ul>';
  }

  function explainer() {
    const ref = program().referral;
    return `<p>${esc(t('join'))}</p><div class="emb-row"><a class="emb-btn" href="${esc(ds.signInUrl || '/account/login')}">${esc(t('signIn'))}</a><a class="emb-btn emb-alt" href="${esc(ds.registerUrl || '/account/register')}">${esc(t('create'))}</a></div>` +
      how() + tiers() + rewards(false) + (ref ? `<h3>${esc(t('refer'))}</h3><p>${esc(t('referText', { f: discount(ref.friend), n: num(ref.advocate_points) }))}</p>` : '');
  }

  function view(page) {
    if (S.err) return `<p class="emb-err" role="alert">${esc(t('error'))}</p>${button('retry', t('retry'))}`;
    if (!S.data) return `<p>${esc(t('loading'))}</p>`;
    S.page = page;
    try {
      if (!member()) return explainer();
      return balance() + tier() + rewards(true) + codes() + referral() + birthday() + activity() + (page ? how() + tiers() : '');
    } catch (e) {
      return `<p class="emb-err" role="alert">${esc(t('error'))}</p>`;
    }
  }

  function earnLine(el) {
    const p = program(), e = p.earn || {};
    const price = Number(el.dataset.price) / 100; // Liquid money is in cents: shopify.dev/docs/api/liquid/objects/money
    const cur = el.dataset.currency;
    const tierNow = member() && S.data.tier ? arr(p.tiers).find((x) => x.name === S.data.tier.name) : null;
    const n = Math.floor(price / Number(e.per_amount) * Number(e.points) * (tierNow ? Number(tierNow.multiplier) || 1 : 1));
    el.textContent = n > 0 && (!cur || cur === S.data.currency) ? t('product', { n: num(n) }) : '';
  }

  let root, panel, body, launcher;
  function render() {
    S.lang = pick();
    if (root) {
      launcher.querySelector('.emb-label').textContent = t('rewards');
      panel.querySelector('h2').textContent = t('title');
      panel.querySelector('.emb-x').setAttribute('aria-label', t('close'));
      if (S.open) body.innerHTML = view(false); // a closed panel costs nothing: filled on open
    }
    document.querySelectorAll('[data-embajador-page]').forEach((el) => {
      const h = el.querySelector('[data-embajador-title]');
      if (h && !h.dataset.custom) h.textContent = t('title');
      el.querySelector('[data-embajador-content]').innerHTML = view(true);
    });
    document.querySelectorAll('[data-embajador-earn]').forEach((el) => { if (S.data) earnLine(el); });
  }

  function focusables() {
    return Array.from(panel.querySelectorAll('a[href],button:not([disabled]),input,[tabindex="0"]'));
  }
  function setOpen(open) {
    S.open = open;
    if (open) body.innerHTML = view(false);
    if (open && !S.data && !S.busy) load();
    panel.hidden = !open;
    launcher.setAttribute('aria-expanded', String(open));
    (open ? panel.querySelector('.emb-x') : launcher).focus();
  }
  function onKey(e) {
    if (!S.open) return;
    if (e.key === 'Escape') { e.preventDefault(); setOpen(false); return; }
    if (e.key !== 'Tab') return;
    const f = focusables(), first = f[0], last = f[f.length - 1];
    if (!panel.contains(document.activeElement)) { e.preventDefault(); first.focus(); } else if (e.shiftKey && document.activeElement === first) { e.preventDefault(); last.focus(); } else if (!e.shiftKey && document.activeElement === last) { e.preventDefault(); first.focus(); }
  }

  async function redeem(id, scope) {
    S.msg[id] = { busy: 1 };
    render();
    let r;
    try { r = await api('/redeem', { reward_id: id }); } catch (e) { r = { status: 0, body: {} }; }
    if (r.ok && r.body && r.body.code) {
      S.msg[id] = { code: r.body.code };
      if (r.body.points && member()) S.data.points.available = r.body.points.available;
    } else {
      S.msg[id] = { err: r.status === 409 ? 'notEnough' : r.status === 429 ? 'busy' : r.status === 401 ? 'error' : 'fail' };
      if (r.status === 409 && r.body && r.body.available != null && member()) S.data.points.available = r.body.available;
    }
    render();
    const target = (scope || document).querySelector(`[data-focus="${CSS.escape(id)}"]`);
    if (target) target.focus();
  }

  async function copy(text, from) {
    try { await navigator.clipboard.writeText(text); } catch (e) {
      const input = document.createElement('textarea');
      input.value = text; document.body.appendChild(input); input.select();
      try { document.execCommand('copy'); } catch (x) { /* nothing more we can do */ }
      input.remove();
    }
    from.textContent = t('copied');
  }

  async function saveBirthday(form) {
    const value = form.elements.birthday.value;
    let r;
    try { r = await api('/birthday', { birthday: value }); } catch (e) { r = { ok: false }; }
    if (r.ok) { S.data.customer.birthday_saved = true; S.note.bday = 'saved'; } else S.note.bday = 'bdayErr';
    render();
  }

  function onClick(e) {
    const el = e.target.closest('[data-act]');
    if (!el || el.tagName === 'FORM') return;
    const act = el.dataset.act;
    if (act === 'open') setOpen(!S.open);
    else if (act === 'close') setOpen(false);
    else if (act === 'retry') { S.err = false; render(); load(); } else if (act === 'redeem') redeem(el.dataset.id, el.closest('.emb-body,[data-embajador-content]'));
    else if (act === 'copy') copy(el.dataset.text, el);
    else if (act === 'share') navigator.share({ url: el.dataset.text, title: t('refer') }).catch(() => {});
  }
  function onSubmit(e) {
    if (e.target.dataset.act !== 'bday') return;
    e.preventDefault();
    saveBirthday(e.target);
  }

  function mount() {
    S.lang = pick();
    if (ds.launcher !== 'false') {
      root = document.createElement('div');
      root.className = 'emb emb-root' + (ds.position === 'left' ? ' emb-left' : '');
      if (/^#[0-9a-f]{3,8}$/i.test(ds.accent || '')) root.style.setProperty('--emb-accent', ds.accent);
      root.innerHTML = `<div class="emb-panel" id="emb-panel" role="dialog" aria-modal="true" aria-labelledby="emb-title" hidden><div class="emb-head"><h2 id="emb-title"></h2><button type="button" class="emb-x" data-act="close">×</button></div><div class="emb-body"></div></div><button type="button" class="emb-launch" data-act="open" aria-haspopup="dialog" aria-expanded="false" aria-controls="emb-panel"><span aria-hidden="true">★</span><span class="emb-label"></span></button>`;
      panel = root.querySelector('.emb-panel');
      body = root.querySelector('.emb-body');
      launcher = root.querySelector('.emb-launch');
      document.body.appendChild(root);
      document.addEventListener('keydown', onKey);
    }
    document.addEventListener('click', onClick);
    document.addEventListener('submit', onSubmit);
    new MutationObserver(render).observe(document.documentElement, { attributes: true, attributeFilter: ['lang'] });
    render();
    // Blocks on the page show data at once; the launcher alone waits until the page is idle.
    if (document.querySelector('[data-embajador-page],[data-embajador-earn]')) load();
    else (window.requestIdleCallback || setTimeout)(() => { if (!S.data && !S.busy) load(); });
  }

  window.Embajador = { reload: load, strings: T };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', mount); else mount();
})();
