// medscribe review page. Vanilla JS, no build step: served as-is by `medscribe serve`.
'use strict';

const $ = (sel, root = document) => root.querySelector(sel);
const LOWCONF = 0.6;
const AUTOSAVE_MS = 1000;
// Chrome relayouts a whole paragraph per keystroke, and a paragraph of thousands of
// word spans takes hundreds of ms: longer paragraphs are shown as soft blocks.
const LONG_PARAGRAPH = 250;
const SOFT_BLOCK = 120;
const EDITABLE_STATES = ['draft', 'in_edit', 'qa', 'awaiting_signature', 'signed'];
const WORK_TYPES = { hp: 'H&P', progress: 'Progress note', discharge: 'Discharge summary',
  operative: 'Operative note', letter: 'Letter', radiology: 'Radiology' };
const STATE_LABELS = { uploaded: 'Uploaded', transcribing: 'Transcribing', draft: 'Draft',
  in_edit: 'In edit', qa: 'QA', awaiting_signature: 'Awaiting signature', signed: 'Signed', failed: 'Failed' };
const EXPORT_FORMATS = [['txt', 'Plain text'], ['json', 'JSON (with timings)'], ['srt', 'SRT subtitles'],
  ['vtt', 'WebVTT'], ['hl7', 'HL7 v2 MDM'], ['fhir', 'FHIR DocumentReference']];

const app = { user: null, csrf: null, view: null, worklistTimer: null };

/* ---------- small helpers ---------- */

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') node.className = v;
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (v === true) node.setAttribute(k, '');
    else if (v !== false && v != null) node.setAttribute(k, v);
  }
  node.append(...children.filter((c) => c != null));
  return node;
}

function fmtTime(s) {
  if (!Number.isFinite(s) || s < 0) s = 0;
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = Math.floor(s % 60);
  const mm = h ? String(m).padStart(2, '0') : String(m);
  return (h ? h + ':' : '') + mm + ':' + String(sec).padStart(2, '0');
}

function parseTime(str) {
  const parts = String(str).trim().split(':').map(Number);
  if (!parts.length || parts.some((n) => !Number.isFinite(n) || n < 0)) return null;
  return parts.reduce((acc, n) => acc * 60 + n, 0);
}

function fmtDuration(s) {
  if (!Number.isFinite(s)) return '';
  const min = Math.max(1, Math.round(Math.abs(s) / 60));
  if (min < 60) return min + ' min';
  if (min < 1440) return Math.floor(min / 60) + ' h ' + (min % 60) + ' min';
  return Math.floor(min / 1440) + ' d ' + Math.floor((min % 1440) / 60) + ' h';
}

function fmtDate(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso || '') : d.toLocaleString();
}

const isPara = (t) => /\n\s*\n/.test(t);
const isBreak = (t) => t.includes('\n');

// Words to plain text: spaces between words, none around line breaks. Linear in the
// number of words (autosave runs it over the whole dictation).
function joinWords(words) {
  const parts = [];
  let afterWord = false;
  for (const w of words) {
    const t = isBreak(w.text) ? (isPara(w.text) ? '\n\n' : '\n') : w.text.trim();
    if (!t) continue;
    if (t[0] === '\n') afterWord = false;
    else if (afterWord) parts.push(' ');
    else afterWord = true;
    parts.push(t);
  }
  return parts.join('');
}

const allWords = (doc) => (doc.segments || []).flatMap((s) => s.words || []);

/* ---------- API ---------- */

class ApiError extends Error {
  constructor(status, code, message, data) {
    super(message);
    this.status = status;
    this.code = code;
    this.data = data || {};
  }
}

async function api(method, path, { json, form, headers = {}, allow401 = false } = {}) {
  const h = { ...headers };
  let body;
  if (json !== undefined) {
    h['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
  } else if (form) {
    body = form;
  }
  if (method !== 'GET' && method !== 'HEAD' && app.csrf) h['X-CSRF-Token'] = app.csrf;
  let res;
  try {
    res = await fetch(path, { method, headers: h, body, credentials: 'same-origin' });
  } catch {
    throw new ApiError(0, 'network', 'The server cannot be reached. Your work is kept in this browser.');
  }
  let data = null;
  if (res.status !== 204 && (res.headers.get('content-type') || '').includes('json')) {
    data = await res.json().catch(() => null);
  }
  if (res.status === 401 && !allow401) sessionEnded();
  if (!res.ok) {
    throw new ApiError(res.status, data && data.error, (data && data.message) || res.statusText, data);
  }
  return { status: res.status, data, headers: res.headers };
}

/* ---------- views and routing ---------- */

function showView(name) {
  app.view = name;
  for (const v of document.querySelectorAll('.view')) v.hidden = v.id !== 'view-' + name;
  const loggedIn = !!app.user;
  $('#logout-btn').hidden = !loggedIn;
  $('#settings-btn').hidden = !loggedIn;
  $('#who').textContent = loggedIn ? `${app.user.username} · ${app.user.role} · ${app.user.office}` : '';
  clearInterval(app.worklistTimer);
}

async function route() {
  if (!app.user) return showLogin('');
  const m = location.hash.match(/^#\/d\/(\d+)/);
  if (editor.id && (!m || Number(m[1]) !== editor.id)) {
    if (!(await closeEditor())) {
      history.replaceState(null, '', '#/d/' + editor.id);
      return;
    }
  }
  if (m) return openEditor(Number(m[1]));
  return showWorklist();
}

function showLogin(message) {
  showView('login');
  $('#login-msg').textContent = message;
  $('#login-pass').value = '';
  $('#login-user').focus();
}

function sessionEnded() {
  if (!app.user) return;
  editor.backupNow();
  editor.stopAudio();
  app.user = null;
  app.csrf = null;
  showLogin('Session ended. Please sign in again.');
}

async function onLogin(ev) {
  ev.preventDefault();
  const f = ev.target;
  const msg = $('#login-msg');
  msg.textContent = '';
  try {
    const r = await api('POST', '/api/login',
      { json: { username: f.username.value.trim(), password: f.password.value }, allow401: true });
    app.user = r.data.user;
    app.csrf = r.data.csrf;
    editor.id = null;
    route();
  } catch (e) {
    if (e.status === 429) msg.textContent = 'Too many attempts. Try again later.';
    else if (e.status === 401 || e.status === 403) msg.textContent = 'Wrong user name or password.';
    else msg.textContent = e.message;
  }
}

async function onLogout() {
  if (!(await closeEditor())) return;
  try { await api('POST', '/api/logout', { allow401: true }); } catch { /* logged out anyway */ }
  app.user = null;
  app.csrf = null;
  history.replaceState(null, '', '#/');
  showLogin('Logged out.');
}

/* ---------- worklist ---------- */

async function showWorklist() {
  showView('worklist');
  const canUpload = ['office', 'admin'].includes(app.user.role);
  $('#upload-form').hidden = !canUpload;
  await loadWorklist(true);
  app.worklistTimer = setInterval(() => loadWorklist(false), 20000);
}

async function loadWorklist(focusFirst) {
  let items;
  try {
    items = (await api('GET', '/api/dictations')).data.items || [];
  } catch (e) {
    if (e.status !== 401) $('#worklist-msg').textContent = e.message;
    return;
  }
  if (app.view !== 'worklist') return;
  $('#worklist-msg').textContent = '';
  const focusedId = document.activeElement && document.activeElement.dataset
    ? document.activeElement.dataset.id : null;
  const tbody = $('#worklist tbody');
  tbody.replaceChildren(...items.map(worklistRow));
  $('#worklist-empty').hidden = items.length > 0;
  const again = focusedId && tbody.querySelector(`tr[data-id="${focusedId}"]`);
  if (again) again.focus();
  else if (focusFirst && tbody.firstElementChild) tbody.firstElementChild.focus();
}

// Office staff manage uploads; transcripts and audio are not theirs to open.
const canOpen = (state) => EDITABLE_STATES.includes(state) && app.user.role !== 'office';

function worklistRow(it) {
  const ready = canOpen(it.state);
  const due = it.due_at ? new Date(it.due_at).getTime() - Date.now() : NaN;
  const dueText = Number.isFinite(due) ? (due < 0 ? 'overdue ' + fmtDuration(due / 1000) : 'due in ' + fmtDuration(due / 1000)) : '';
  const prio = it.priority === 'stat'
    ? el('span', { class: 'prio-stat', title: 'STAT priority' }, 'STAT')
    : el('span', { class: 'prio-routine' }, 'Routine');
  const flags = it.unresolved_flags > 0
    ? el('span', { class: 'flags-open', title: 'Unresolved flags' }, String(it.unresolved_flags)) : '0';
  return el('tr', { tabindex: 0, class: ready ? '' : 'not-ready', dataset: { id: it.id, state: it.state },
    'aria-label': `${it.priority === 'stat' ? 'STAT ' : ''}${it.patient_name}, ${STATE_LABELS[it.state] || it.state}` },
  el('td', {}, prio),
  el('td', {}, it.patient_name),
  el('td', {}, it.mrn),
  el('td', {}, WORK_TYPES[it.work_type] || it.work_type),
  el('td', {}, STATE_LABELS[it.state] || it.state),
  el('td', {}, it.physician),
  el('td', { class: it.overdue ? 'overdue' : '' }, fmtDuration(it.age_s) + (dueText ? ' · ' + dueText : '')),
  el('td', { class: 'num' }, it.duration_s != null ? fmtTime(it.duration_s) : ''),
  el('td', { class: 'num' }, flags));
}

function openRow(tr) {
  if (!tr) return;
  if (!canOpen(tr.dataset.state)) {
    $('#worklist-msg').textContent = app.user.role === 'office' ? 'Transcripts open for transcriptionists, QA and physicians.'
      : `Not ready to open: ${STATE_LABELS[tr.dataset.state] || tr.dataset.state}.`;
    return;
  }
  location.hash = '#/d/' + tr.dataset.id;
}

function onWorklistKey(ev) {
  const tr = ev.target.closest('tr');
  if (!tr) return;
  if (ev.key === 'ArrowDown' && tr.nextElementSibling) tr.nextElementSibling.focus();
  else if (ev.key === 'ArrowUp' && tr.previousElementSibling) tr.previousElementSibling.focus();
  else if (ev.key === 'Home') tr.parentElement.firstElementChild.focus();
  else if (ev.key === 'End') tr.parentElement.lastElementChild.focus();
  else if (ev.key === 'Enter') openRow(tr);
  else return;
  ev.preventDefault();
}

async function onUpload(ev) {
  ev.preventDefault();
  const form = ev.target;
  const msg = $('#upload-msg');
  msg.className = 'msg';
  msg.textContent = 'Uploading…';
  const button = form.querySelector('button[type=submit]');
  button.disabled = true;
  try {
    const r = await api('POST', '/api/dictations', { form: new FormData(form) });
    msg.className = 'msg ok';
    msg.textContent = `Uploaded as dictation ${r.data.id}; transcription is queued.`;
    form.reset();
    loadWorklist(false);
  } catch (e) {
    msg.textContent = e.message || 'Upload failed.';
  } finally {
    button.disabled = false;
  }
}

/* ---------- key bindings (configurable; foot pedals send keystrokes) ---------- */

const KEY_ACTIONS = [
  ['playPause', 'Play / pause', ['Escape']],
  ['back', 'Back 3 s', ['F1', 'Ctrl+ArrowLeft']],
  ['forward', 'Forward 3 s', ['F2', 'Ctrl+ArrowRight']],
  ['slower', 'Slower', ['F3']],
  ['faster', 'Faster', ['F4']],
  ['jump', 'Jump to time', ['Ctrl+G']],
  ['nextLowConf', 'Next uncertain word', ['Ctrl+J']],
  ['flag', 'Flag at current time', ['Ctrl+B']],
];
const KEYS_STORE = 'medscribe.keys';

function comboOf(ev) {
  if (['Control', 'Shift', 'Alt', 'Meta'].includes(ev.key)) return null;
  let key = ev.key === ' ' ? 'Space' : ev.key;
  if (key.length === 1) key = key.toUpperCase();
  const mods = [];
  if (ev.ctrlKey || ev.metaKey) mods.push('Ctrl');
  if (ev.altKey) mods.push('Alt');
  if (ev.shiftKey && (key.length > 1 || mods.length)) mods.push('Shift');
  return [...mods, key].join('+');
}

function loadKeys() {
  let saved = {};
  try { saved = JSON.parse(localStorage.getItem(KEYS_STORE)) || {}; } catch { /* defaults */ }
  const map = new Map();
  for (const [action, , defaults] of KEY_ACTIONS) {
    for (const combo of saved[action] || defaults) map.set(combo, action);
  }
  return map;
}

function keysFor(action) {
  return [...app.keys].filter(([, a]) => a === action).map(([k]) => k);
}

function openSettings() {
  const box = $('#key-fields');
  box.replaceChildren();
  for (const [action, label] of KEY_ACTIONS) {
    const input = el('input', { name: action, value: keysFor(action).join(', '), 'aria-label': label, autocomplete: 'off' });
    input.addEventListener('keydown', recordKey);
    box.append(el('span', {}, label), input);
  }
  const dlg = $('#settings-dialog');
  dlg.returnValue = '';
  dlg.showModal();
}

// A key pressed in a settings field is added to it; Backspace clears; Tab moves on.
function recordKey(ev) {
  if (ev.key === 'Tab') return;
  ev.preventDefault();
  const input = ev.target;
  if (ev.key === 'Backspace' || ev.key === 'Delete') { input.value = ''; return; }
  const combo = comboOf(ev);
  if (!combo) return;
  const list = input.value.split(',').map((s) => s.trim()).filter(Boolean);
  if (!list.includes(combo)) list.push(combo);
  input.value = list.join(', ');
}

function onSettingsClose() {
  const dlg = $('#settings-dialog');
  if (dlg.returnValue === 'reset') {
    localStorage.removeItem(KEYS_STORE);
  } else if (dlg.returnValue === 'ok') {
    const saved = {};
    for (const [action] of KEY_ACTIONS) {
      saved[action] = dlg.querySelector(`input[name="${action}"]`).value.split(',').map((s) => s.trim()).filter(Boolean);
    }
    localStorage.setItem(KEYS_STORE, JSON.stringify(saved));
  }
  app.keys = loadKeys();
  editor.showKeyHints();
}

// Runs on every keystroke: the bound-key lookup comes first, and open dialogs are
// found in a short cached list, not by a query over the whole (large) document.
let dialogs = null;
const dialogOpen = () => (dialogs ||= [...document.getElementsByTagName('dialog')]).some((d) => d.open);

function onGlobalKey(ev) {
  if (app.view !== 'editor') return;
  const combo = comboOf(ev);
  const action = combo && app.keys.get(combo);
  if (!action || dialogOpen()) return;
  ev.preventDefault();
  ev.stopPropagation();
  editor.actions[action]();
}

/* ---------- word diff (history) ---------- */

// Word diff: common prefix/suffix trimmed, LCS on the rest when small enough.
function diffWords(a, b) {
  let p = 0;
  while (p < a.length && p < b.length && a[p] === b[p]) p++;
  let s = 0;
  while (s < a.length - p && s < b.length - p && a[a.length - 1 - s] === b[b.length - 1 - s]) s++;
  const A = a.slice(p, a.length - s), B = b.slice(p, b.length - s);
  const mid = A.length * B.length <= 4e6 ? lcsDiff(A, B)
    : [...A.map((w) => ['-', w]), ...B.map((w) => ['+', w])];
  return [...a.slice(0, p).map((w) => ['=', w]), ...mid, ...a.slice(a.length - s).map((w) => ['=', w])];
}

function lcsDiff(A, B) {
  const n = A.length, m = B.length, W = m + 1;
  const L = new Uint16Array((n + 1) * W);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      L[i * W + j] = A[i] === B[j] ? L[(i + 1) * W + j + 1] + 1 : Math.max(L[(i + 1) * W + j], L[i * W + j + 1]);
    }
  }
  const out = [];
  let i = 0, j = 0;
  while (i < n && j < m) {
    if (A[i] === B[j]) { out.push(['=', A[i]]); i++; j++; }
    else if (L[(i + 1) * W + j] >= L[i * W + j + 1]) out.push(['-', A[i++]]);
    else out.push(['+', B[j++]]);
  }
  while (i < n) out.push(['-', A[i++]]);
  while (j < m) out.push(['+', B[j++]]);
  return out;
}

// Diff ops as text; changed words in <ins>/<del> (or one tag), long unchanged runs shortened.
function renderDiff(ops, tag) {
  const frag = document.createDocumentFragment();
  const CONTEXT = 8;
  let k = 0;
  while (k < ops.length) {
    const op = ops[k][0];
    let end = k;
    while (end < ops.length && ops[end][0] === op) end++;
    let words = ops.slice(k, end).map((o) => o[1]);
    if (op === '=' && words.length > CONTEXT * 2 + 3) {
      const skipped = words.length - CONTEXT * 2;
      const head = k === 0 ? [] : words.slice(0, CONTEXT);
      const tail = end === ops.length ? [] : words.slice(-CONTEXT);
      words = [...head, `[… ${skipped + (k === 0 ? CONTEXT : 0) + (end === ops.length ? CONTEXT : 0)} unchanged words …]`, ...tail];
    }
    const text = joinWords(words.map((t) => ({ text: t }))) + ' ';
    frag.append(op === '=' ? text : el(tag || (op === '+' ? 'ins' : 'del'), {}, text));
    k = end;
  }
  return frag;
}

/* ---------- the editor ---------- */

const editor = {
  id: null, dict: null, doc: null, revision: null, readOnly: true,
  words: [], idx: { words: [], els: [], blocks: [], starts: new Float64Array(0) }, playingEl: null,
  gen: 0, savedGen: 0, saving: null, timer: null, playTimer: null, conflict: null, lastKeyAt: 0, shownSecond: -1,
  get box() { return $('#editor'); },
  get audio() { return $('#audio'); },
  backupKey() { return app.user ? `medscribe.unsaved.${app.user.id}.${this.id}` : null; },
};

const isDirty = () => editor.gen !== editor.savedGen;

async function openEditor(id) {
  showView('editor');
  if (editor.id === id && editor.doc) return;
  resetEditor(id);
  $('#ed-title').textContent = `Dictation ${id}`;
  try {
    await loadDetails();
  } catch (e) {
    if (e.status !== 401) showBanner(e.status === 404 ? 'No such dictation.' : e.message);
    return;
  }
  editor.audio.src = `/api/dictations/${id}/audio`;
  await loadTranscript();
  offerRestore();
}

function resetEditor(id) {
  Object.assign(editor, { id, dict: null, doc: null, revision: null, readOnly: true, words: [],
    idx: { words: [], els: [], blocks: [], starts: new Float64Array(0) }, playingEl: null, gen: 0, savedGen: 0, saving: null, conflict: null, shownSecond: -1 });
  clearTimeout(editor.timer);
  editor.stopAudio();
  editor.box.replaceChildren();
  editor.box.contentEditable = 'false';
  for (const id2 of ['#ed-banner', '#restore-panel', '#conflict-panel']) $(id2).hidden = true;
  $('#diff').replaceChildren();
  setSaveStatus('', '');
}

// Leaving the editor: save pending edits first; stay if that fails.
async function closeEditor() {
  if (!editor.id) return true;
  if (isDirty() && (!editor.readOnly || editor.conflict)) {
    clearTimeout(editor.timer);
    const ok = await saveNow();
    // Unsaved edits stay in this browser (offered again on return); leaving is the user's call.
    if (!ok && !window.confirm('Your latest changes are not saved on the server. Leave anyway? They stay in this browser.')) return false;
    editor.backupNow();
  }
  editor.stopAudio();
  editor.audio.removeAttribute('src');
  editor.id = null;
  editor.doc = null;
  return true;
}

async function loadDetails() {
  const d = (await api('GET', `/api/dictations/${editor.id}`)).data;
  editor.dict = d;
  $('#ed-title').textContent = `${d.patient_name} · MRN ${d.mrn} · ${WORK_TYPES[d.work_type] || d.work_type}`
    + (d.priority === 'stat' ? ' · STAT' : '');
  $('#ed-state').textContent = STATE_LABELS[d.state] || d.state;
  renderFlags();
  renderActions();
  renderRevisions();
  renderExports();
  if (d.reject_reason && d.state === 'in_edit') showBanner('Returned: ' + d.reject_reason, 'info');
  setReadOnly(!(d.can && d.can.edit) || d.state === 'signed' || !!editor.conflict);
}

async function loadTranscript() {
  let r;
  try {
    r = await api('GET', `/api/dictations/${editor.id}/transcript`);
  } catch (e) {
    if (e.status === 409) showBanner('The transcript is not ready yet.', 'info');
    else if (e.status !== 401) showBanner(e.message);
    return;
  }
  editor.revision = r.data.revision;
  editor.doc = r.data.document;
  renderWords(allWords(editor.doc));
  renderCorrections();
  editor.gen = editor.savedGen = 0;
  setSaveStatus(editor.readOnly ? '' : 'saved', editor.readOnly ? 'Read-only' : 'Saved');
}

function setReadOnly(ro) {
  editor.readOnly = ro;
  editor.box.contentEditable = ro ? 'false' : 'true';
  editor.box.tabIndex = 0;
  editor.box.classList.toggle('readonly', ro);
  editor.box.setAttribute('aria-readonly', String(ro));
  $('#flag-btn').disabled = ro;
}

function showBanner(text, kind = '') {
  const b = $('#ed-banner');
  b.className = 'banner ' + kind;
  b.textContent = text;
  b.hidden = !text;
}

function setSaveStatus(kind, text) {
  const s = $('#save-status');
  if (s.textContent === text && s.dataset.kind === kind) return;
  s.className = 'save-status ' + kind;
  s.dataset.kind = kind;
  s.textContent = text;
}

/* rendering words: one block per paragraph; word spans only near the viewport */

// Chrome's editing work per keystroke grows with the number of nodes in the editable
// region, so blocks far from the viewport hold their words as plain text (block._words)
// and get word spans (data-index, highlight, click to seek) when they come near.
const blockObserver = new IntersectionObserver(onBlocksSeen, { root: $('#editor'), rootMargin: '300px 0px' });

function renderWords(words) {
  const frag = document.createDocumentFragment();
  const softAt = softBreaks(words);
  let block = el('div');
  frag.append(block);
  let from = 0;
  words.forEach((w, i) => {
    const para = isPara(w.text || '');
    if (!para && !softAt.has(i)) return;
    setPlain(block, words.slice(from, i));
    block = el('div', para ? {} : { class: 'soft' });
    if (para) block._w = w; else block._soft = true;
    frag.append(block);
    from = para ? i + 1 : i;
  });
  setPlain(block, words.slice(from));
  editor.box.replaceChildren(frag);
  editor.words = words;
  editor.playingEl = null;
  rebuildIndex();
  observeBlocks();
}

// Word indexes that start a soft block: in paragraphs over LONG_PARAGRAPH words,
// after a sentence end once SOFT_BLOCK words have passed.
function softBreaks(words) {
  const at = new Set();
  let start = 0;
  for (let i = 0; i <= words.length; i++) {
    if (i < words.length && !isPara(words[i].text || '')) continue;
    if (i - start > LONG_PARAGRAPH) {
      let n = 0;
      for (let k = start; k < i - SOFT_BLOCK / 2; k++) {
        n++;
        if (n >= SOFT_BLOCK && /[.?!;:]$/.test(words[k].text) || n >= SOFT_BLOCK * 2) { at.add(k + 1); n = 0; }
      }
    }
    start = i + 1;
  }
  return at;
}

function setPlain(block, list) {
  block._all = list;
  block._words = list;
  block._text = joinWords(list);
  block.textContent = block._text;
}

function wordSpan(w, text) {
  const s = document.createElement('span');
  s.className = w.probability < LOWCONF ? 'w lowconf' : 'w';
  s.textContent = text;
  s._w = w;
  return s;
}

function fillBlock(block, list) {
  const frag = document.createDocumentFragment();
  let needSpace = false;
  for (const w of list) {
    if (isBreak(w.text || '')) {
      const br = document.createElement('br');
      br._w = w;
      frag.append(br);
      needSpace = false;
    } else {
      if (needSpace) frag.append(' ');
      frag.append(wordSpan(w, w.text.trim()));
      needSpace = true;
    }
  }
  block.replaceChildren(frag);
}

const topBlock = (node) => {
  while (node && node.parentNode !== editor.box) node = node.parentNode;
  return node;
};

function hydrate(block) {
  if (!block || !block._words) return;
  if (block.textContent !== block._text) {
    syncWords(); // edited as plain text: map its words first
    if (!block._words) return;
  }
  const sel = saveSelection(block);
  fillBlock(block, block._words);
  const { els, blocks } = editor.idx;
  let k = block._first;
  for (const s of block.getElementsByClassName('w')) {
    s.dataset.index = k;
    els[k] = s;
    blocks[k] = null;
    k++;
  }
  block._words = null;
  block._text = null;
  markCorrections(block);
  restoreSelection(block, sel);
}

// Back to plain text once far away, if nothing there is pending.
function dehydrate(block) {
  if (block._words || !block._all || isDirty() || editor.saving) return;
  const sel = getSelection();
  if (sel.rangeCount && (block.contains(sel.anchorNode) || block.contains(sel.focusNode))) return;
  if (editor.playingEl && block.contains(editor.playingEl)) return;
  const spans = block.getElementsByClassName('w');
  if (!spans.length) return;
  const { els, blocks } = editor.idx;
  const first = Number(spans[0].dataset.index);
  for (let k = first; k < first + spans.length; k++) { els[k] = null; blocks[k] = block; }
  block._first = first;
  setPlain(block, block._all);
}

function onBlocksSeen(entries) {
  for (const e of entries) {
    if (e.isIntersecting) hydrate(e.target);
    else dehydrate(e.target);
  }
}

function observeBlocks() {
  for (const c of editor.box.children) blockObserver.observe(c);
}

function hydrateSelection() {
  const sel = getSelection();
  if (!sel.rangeCount) return;
  const r = sel.getRangeAt(0);
  hydrate(topBlock(r.startContainer));
  hydrate(topBlock(r.endContainer));
}

/* selection as character offsets in a block (a <br> counts as one) */

function pointOffset(block, node, offset) {
  const r = document.createRange();
  r.setStart(block, 0);
  r.setEnd(node, offset);
  return r.toString().length + r.cloneContents().querySelectorAll('br').length;
}

function pointAt(block, n) {
  const walker = document.createTreeWalker(block, NodeFilter.SHOW_TEXT | NodeFilter.SHOW_ELEMENT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.nodeType === Node.TEXT_NODE) {
      if (n <= node.length) return [node, n];
      n -= node.length;
    } else if (node.nodeName === 'BR') {
      if (n === 0) return [node.parentNode, [...node.parentNode.childNodes].indexOf(node)];
      n -= 1;
    }
  }
  return [block, block.childNodes.length];
}

function saveSelection(block) {
  const sel = getSelection();
  if (!sel.rangeCount) return null;
  const inside = (n) => block.contains(n);
  if (!inside(sel.anchorNode) && !inside(sel.focusNode)) return null;
  return {
    anchor: inside(sel.anchorNode) ? pointOffset(block, sel.anchorNode, sel.anchorOffset) : null,
    focus: inside(sel.focusNode) ? pointOffset(block, sel.focusNode, sel.focusOffset) : null,
    anchorNode: sel.anchorNode, anchorOffset: sel.anchorOffset, focusNode: sel.focusNode, focusOffset: sel.focusOffset,
  };
}

function restoreSelection(block, s) {
  if (!s) return;
  const [an, ao] = s.anchor != null ? pointAt(block, s.anchor) : [s.anchorNode, s.anchorOffset];
  const [fn, fo] = s.focus != null ? pointAt(block, s.focus) : [s.focusNode, s.focusOffset];
  getSelection().setBaseAndExtent(an, ao, fn, fo);
}

// Arrays for the playback highlight and index lookups: every text word in order,
// with its span, or the plain-text block holding it.
function rebuildIndex() {
  const words = [], els = [], blocks = [];
  const addSpan = (s) => {
    if (!s._w) return;
    if (s.dataset.index !== String(words.length)) s.dataset.index = words.length;
    words.push(s._w);
    els.push(s);
    blocks.push(null);
  };
  for (const c of editor.box.childNodes) {
    if (c._words) {
      c._first = words.length;
      for (const w of c._words) {
        if (isBreak(w.text || '')) continue;
        words.push(w);
        els.push(null);
        blocks.push(c);
      }
    } else if (c.nodeType === Node.ELEMENT_NODE) {
      if (c.classList.contains('w')) addSpan(c);
      else for (const s of c.getElementsByClassName('w')) addSpan(s);
    }
  }
  editor.idx = { words, els, blocks, starts: Float64Array.from(words, (w) => w.start) };
  if (editor.playingEl && !editor.playingEl.isConnected) editor.playingEl = null;
}

// The span of text word k, creating its block's spans when needed.
function spanOf(k) {
  if (k < 0) return null;
  if (!editor.idx.els[k] && editor.idx.blocks[k]) hydrate(editor.idx.blocks[k]);
  return editor.idx.els[k] || null;
}

/* reading words back from the edited DOM */

const TOKEN_RE = /\n+|[^\s]+/g;

function tokensOf(text) {
  return (text.match(TOKEN_RE) || []).map((t) => (t[0] === '\n' ? (t.length > 1 ? '\n\n' : '\n') : t));
}

const untimed = (text) => ({ text, start: NaN, end: NaN, probability: 1 });

// Walks the editable region and returns the words in order. Words without a
// time (typed outside a word span) get it from their neighbours afterwards.
function collectWords() {
  const out = [];
  const fixes = [];
  const ranges = [];
  let blocks = 0;
  const emitBreak = (w, text) => out.push(w && w.text === text ? w : untimed(text));
  const loose = (node, text) => {
    const from = out.length;
    const toks = tokensOf(text);
    for (const t of toks) out.push(untimed(t));
    if (toks.some((t) => t[0] !== '\n')) fixes.push({ node, from, to: out.length, reuse: false });
  };
  const walk = (node) => {
    for (let c = node.firstChild; c; c = c.nextSibling) {
      if (c.nodeType === Node.TEXT_NODE) {
        loose(c, c.data);
      } else if (c.nodeName === 'BR') {
        // Chrome keeps a placeholder <br> at the end of an empty block: not a word.
        if (c._w || c.nextSibling) emitBreak(c._w, '\n');
      } else if (c.nodeName === 'DIV' || c.nodeName === 'P') {
        if (!c._soft) {
          // A soft block is layout only; a copy the browser made on Enter is a real paragraph.
          if (out.length || blocks) emitBreak(c._w, '\n\n');
          if (c.classList.contains('soft')) c.classList.remove('soft');
        }
        blocks++;
        const from = out.length;
        if (!c._words) walk(c);
        else if (c.textContent === c._text) out.push(...c._words);
        else out.push(...remapPlain(c._words, c.textContent));
        if (c.parentNode === editor.box) ranges.push([c, from, out.length]);
      } else if (c._w && c.classList.contains('w')) {
        collectSpan(c, out, fixes);
      } else if (c.nodeType === Node.ELEMENT_NODE) {
        // A span cloned by the browser (Enter inside a word) or other inline markup: flatten it.
        loose(c, c.textContent);
      }
    }
  };
  walk(editor.box);
  fillTimes(out);
  ranges.forEach(([c, from, to]) => {
    c._all = out.slice(from, to);
    if (c._words) {
      c._words = c._all;
      c._text = c.textContent;
    }
  });
  return { words: out, fixes };
}

// Words of a plain-text block after an edit: unchanged words keep their object,
// a word replaced one-for-one keeps its time, the rest are new.
function remapPlain(old, text) {
  const a = old.map((w) => (isBreak(w.text || '') ? (isPara(w.text) ? '\n\n' : '\n') : w.text.trim()));
  const b = tokensOf(text);
  const ops = lcsDiff(a, b);
  const out = [];
  let i = 0, j = 0, k = 0;
  while (k < ops.length) {
    if (ops[k][0] === '=') { out.push(old[i++]); j++; k++; continue; }
    const dels = [], adds = [];
    while (k < ops.length && ops[k][0] !== '=') {
      if (ops[k][0] === '-') dels.push(old[i++]); else adds.push(b[j++]);
      k++;
    }
    adds.forEach((t, n) => out.push(dels.length === adds.length ? { ...dels[n], text: t, probability: 1 } : untimed(t)));
  }
  return out;
}

function collectSpan(span, out, fixes) {
  const w = span._w;
  const toks = tokensOf(span.textContent);
  if (toks.length === 1 && toks[0] === w.text.trim()) { out.push(w); return; }
  if (toks.length === 1 && toks[0][0] !== '\n') {
    // An edited word keeps its time; the span now stands for the corrected word.
    const nw = { ...w, text: toks[0], probability: 1 };
    span._w = nw;
    span.classList.remove('lowconf');
    out.push(nw);
    return;
  }
  // Split (a space typed inside a word) or emptied: share the word's time span.
  const from = out.length, n = toks.length;
  toks.forEach((t, i) => out.push({ ...w, text: t, probability: 1,
    start: round3(w.start + ((w.end - w.start) * i) / n), end: round3(w.start + ((w.end - w.start) * (i + 1)) / n) }));
  fixes.push({ node: span, from, to: out.length, reuse: true });
}

const round3 = (x) => Math.round(x * 1000) / 1000;

// Inserted words take the gap between their timed neighbours (times stay monotonic).
function fillTimes(words) {
  let i = 0;
  while (i < words.length) {
    if (!Number.isNaN(words[i].start)) { i++; continue; }
    let j = i;
    while (j < words.length && Number.isNaN(words[j].start)) j++;
    const prev = words[i - 1], next = words[j];
    const lo = prev ? prev.start : 0;
    const hi = next ? next.start : (prev ? Math.max(prev.end, prev.start) : 0);
    const a = Math.min(Math.max(prev ? prev.end : 0, lo), hi);
    const b = next ? Math.max(a, next.start) : Math.max(a, hi);
    const k = j - i;
    for (let n = 0; n < k; n++) {
      words[i + n].start = round3(a + ((b - a) * n) / k);
      words[i + n].end = round3(a + ((b - a) * (n + 1)) / k);
    }
    i = j;
  }
}

// Turn loose typed text into word spans, except where the caret is (keeps typing smooth).
function applyFixes(fixes, words) {
  const sel = getSelection();
  const caretNode = sel.rangeCount ? sel.focusNode : null;
  for (const { node, from, to, reuse } of fixes) {
    if (!node.isConnected || (caretNode && (node === caretNode || node.contains(caretNode)))) continue;
    const idx = [];
    for (let k = from; k < to; k++) if (words[k].text[0] !== '\n') idx.push(k);
    const pieces = (node.textContent.match(/\s+|[^\s]+/g) || []).map((part) => {
      if (/^\s/.test(part) || !idx.length) return document.createTextNode(part);
      const w = words[idx.shift()];
      const span = reuse && !node._used ? node : wordSpan(w, part);
      node._used = node._used || span === node;
      span.textContent = part;
      span._w = w;
      span.classList.remove('lowconf');
      return span;
    });
    delete node._used;
    const at = pieces.indexOf(node);
    if (at < 0) { node.replaceWith(...pieces); continue; }
    node.before(...pieces.slice(0, at));
    node.after(...pieces.slice(at + 1));
  }
}

// Re-reads the DOM into editor.words and refreshes the span indexes.
function syncWords() {
  const { words, fixes } = collectWords();
  applyFixes(fixes, words);
  editor.words = words;
  rebuildIndex();
  markCorrections();
  observeBlocks();
  return words;
}

function buildDocument(words) {
  const src = editor.doc.segments || [];
  const segs = src.map((s) => ({ ...s, words: [] }));
  if (!segs.length) segs.push({ start: 0, end: 0, text: '', words: [] });
  let p = 0;
  for (const w of words) {
    while (p + 1 < segs.length && w.start >= segs[p + 1].start) p++;
    segs[p].words.push(w);
  }
  const kept = segs.filter((s) => s.words.length);
  for (const s of kept) {
    s.start = Math.min(s.start, s.words[0].start);
    s.end = Math.max(s.end, s.words[s.words.length - 1].end);
    s.text = joinWords(s.words);
  }
  return { ...editor.doc, text: joinWords(words), segments: kept };
}

/* autosave */

function onEdit() {
  if (editor.readOnly || editor.conflict) return;
  editor.gen++;
  editor.lastKeyAt = performance.now();
  setSaveStatus('dirty', 'Unsaved changes');
  // A corrected word reads as certain at once (probability 1 is set on save).
  const sel = getSelection();
  const node = sel.rangeCount ? sel.focusNode : null;
  const span = node && (node.nodeType === Node.TEXT_NODE ? node.parentElement : node).closest('span.lowconf');
  if (span && span._w && span.textContent.trim() !== span._w.text.trim()) span.classList.remove('lowconf');
  clearTimeout(editor.timer);
  editor.timer = setTimeout(saveNow, AUTOSAVE_MS);
}

// Saves the current text; resolves true when everything typed so far is on the server.
async function saveNow() {
  if (editor.saving) {
    await editor.saving;
    return isDirty() ? saveNow() : true;
  }
  if (!isDirty() || editor.conflict || !editor.doc) return !isDirty();
  const gen = editor.gen;
  const doc = buildDocument(syncWords());
  backup(doc, editor.revision);
  editor.saving = putDocument(doc, editor.revision, gen);
  const ok = await editor.saving;
  editor.saving = null;
  if (ok && isDirty()) {
    clearTimeout(editor.timer);
    editor.timer = setTimeout(saveNow, AUTOSAVE_MS);
  }
  return ok && !isDirty();
}

async function putDocument(doc, revision, gen) {
  const id = editor.id;
  setSaveStatus('saving', 'Saving…');
  try {
    const r = await api('PUT', `/api/dictations/${id}/transcript`,
      { json: { document: doc }, headers: { 'If-Match': `"${revision}"` } });
    if (editor.id !== id) return true;
    editor.revision = r.data.revision;
    editor.doc = doc;
    editor.savedGen = Math.max(editor.savedGen, gen);
    if (isDirty()) setSaveStatus('dirty', 'Unsaved changes');
    else { setSaveStatus('saved', 'Saved'); clearBackup(); }
    if (editor.dict && editor.dict.state === 'draft') loadDetails().catch(() => {});
    return true;
  } catch (e) {
    if (editor.id !== id) return false;
    if (e.status === 409 && e.data.current_revision != null) {
      await showConflict(doc, e.data.current_revision);
    } else if (e.status === 401) {
      setSaveStatus('error', 'Unsaved changes');
    } else {
      setSaveStatus('error', 'Not saved: ' + e.message);
      if (e.status === 0 || e.status >= 500) editor.timer = setTimeout(saveNow, 5000);
    }
    return false;
  }
}

/* unsaved edits kept in the browser, so a crashed tab loses nothing */

function backup(doc, revision) {
  const key = editor.backupKey();
  if (!key) return;
  try {
    localStorage.setItem(key, JSON.stringify({ revision, saved_at: new Date().toISOString(), document: doc }));
  } catch { /* storage full: the server copy still autosaves */ }
}

function clearBackup() {
  const key = editor.backupKey();
  if (key) localStorage.removeItem(key);
}

editor.backupNow = () => {
  if (!editor.id || !editor.doc || !isDirty()) return;
  if (editor.conflict) backup(editor.conflict.mine, editor.revision);
  else if (!editor.readOnly) backup(buildDocument(syncWords()), editor.revision);
};

function readBackup() {
  const key = editor.backupKey();
  try { return key ? JSON.parse(localStorage.getItem(key)) : null; } catch { return null; }
}

function offerRestore() {
  const b = readBackup();
  if (!b || !b.document || !editor.doc) return;
  if (editor.readOnly || joinWords(allWords(b.document)) === joinWords(editor.words)) { clearBackup(); return; }
  $('#restore-text').textContent = `Unsaved edits from ${fmtDate(b.saved_at)} (based on revision ${b.revision}) were kept in this browser.`;
  $('#restore-panel').hidden = false;
}

function restoreBackup(yes) {
  const b = readBackup();
  $('#restore-panel').hidden = true;
  if (!yes || !b) { clearBackup(); return; }
  // Save on top of the revision the edits were based on: a newer server copy then shows as a conflict.
  editor.doc = b.document;
  editor.revision = b.revision;
  renderWords(allWords(b.document));
  markCorrections();
  editor.gen++;
  saveNow();
}

/* conflicts: never overwrite silently */

async function showConflict(mine, currentRevision) {
  editor.conflict = { mine, revision: currentRevision, theirs: null };
  setSaveStatus('conflict', 'Conflict');
  setReadOnly(true);
  renderCorrections();
  $('#conflict-rev').textContent = currentRevision;
  $('#conflict-mine').textContent = joinWords(allWords(mine));
  $('#conflict-theirs').textContent = 'Loading…';
  $('#conflict-panel').hidden = false;
  try {
    const r = await api('GET', `/api/dictations/${editor.id}/transcript?revision=${currentRevision}`);
    editor.conflict.theirs = r.data.document;
    const split = (doc) => joinWords(allWords(doc)).split(/ +/);
    const ops = diffWords(split(mine), split(r.data.document));
    $('#conflict-mine').replaceChildren(renderDiff(ops.filter((o) => o[0] !== '+'), 'mark'));
    $('#conflict-theirs').replaceChildren(renderDiff(ops.filter((o) => o[0] !== '-'), 'mark'));
  } catch (e) {
    $('#conflict-theirs').textContent = 'Could not load: ' + e.message;
  }
}

async function resolveConflict(keepMine) {
  const c = editor.conflict;
  if (!c) return;
  $('#conflict-panel').hidden = true;
  editor.conflict = null;
  setReadOnly(false);
  renderCorrections();
  if (keepMine) {
    const gen = editor.gen;
    editor.saving = putDocument(c.mine, c.revision, gen);
    await editor.saving;
    editor.saving = null;
  } else {
    clearBackup();
    await loadTranscript();
  }
  await loadDetails().catch(() => {});
}

/* playback */

const audioCtl = {
  step: 3,
  backstep: 1,
  toggle() {
    const a = editor.audio;
    if (a.paused) {
      a.play().catch((e) => showBanner('Audio cannot play: ' + e.message));
    } else {
      a.pause();
      a.currentTime = Math.max(0, a.currentTime - audioCtl.backstep);
    }
  },
  seek(t) {
    const a = editor.audio;
    a.currentTime = Math.max(0, Math.min(t, Number.isFinite(a.duration) ? a.duration : t));
    updateHighlight();
  },
  rate(delta) {
    const a = editor.audio;
    a.preservesPitch = true;
    a.playbackRate = Math.round(Math.min(2, Math.max(0.5, a.playbackRate + delta)) * 10) / 10;
    $('#rate').textContent = a.playbackRate.toFixed(1) + '×';
  },
};

editor.stopAudio = () => {
  const a = editor.audio;
  if (a && !a.paused) a.pause();
};

// Last word whose start is at or before t (binary search).
function wordAt(t) {
  const s = editor.idx.starts;
  let lo = 0, hi = s.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (s[mid] <= t) lo = mid + 1; else hi = mid;
  }
  return lo - 1;
}

function updateHighlight() {
  const t = editor.audio.currentTime;
  const span = spanOf(wordAt(t));
  if (span === editor.playingEl) return;
  if (editor.playingEl) editor.playingEl.classList.remove('playing');
  if (span) span.classList.add('playing');
  editor.playingEl = span;
  if (span && !editor.audio.paused && performance.now() - editor.lastKeyAt > 2000) follow(span);
}

// Keep the spoken word in view, reading layout once per word change only.
function follow(span) {
  const box = editor.box;
  const r = span.getBoundingClientRect(), b = box.getBoundingClientRect();
  if (r.top < b.top + 8 || r.bottom > b.bottom - 8) box.scrollTop += r.top - b.top - b.height / 3;
}

// While playing, the highlight moves when the next word starts: one timer per word
// (at most 250 ms apart) instead of a callback every frame, so typing during playback
// does not share each frame with highlight work.
function playTick() {
  clearTimeout(editor.playTimer);
  updateHighlight();
  const a = editor.audio;
  if (a.paused) return;
  const starts = editor.idx.starts;
  const k = wordAt(a.currentTime) + 1;
  const wait = k < starts.length ? ((starts[k] - a.currentTime) * 1000) / (a.playbackRate || 1) : 250;
  editor.playTimer = setTimeout(playTick, Math.min(250, Math.max(5, wait + 2)));
}

function updateClock() {
  const a = editor.audio;
  const sec = Math.floor(a.currentTime);
  if (sec === editor.shownSecond) return;
  editor.shownSecond = sec;
  $('#time').textContent = `${fmtTime(a.currentTime)} / ${fmtTime(a.duration)}`;
  const seek = $('#seek');
  if (document.activeElement !== seek) seek.value = a.currentTime;
}

function initAudio() {
  const a = editor.audio;
  a.preservesPitch = true;
  a.addEventListener('play', () => { $('#play-btn').textContent = 'Pause'; playTick(); });
  a.addEventListener('playing', playTick);
  a.addEventListener('pause', () => { $('#play-btn').textContent = 'Play'; playTick(); });
  a.addEventListener('seeked', () => { playTick(); editor.shownSecond = -1; updateClock(); });
  a.addEventListener('timeupdate', updateClock);
  a.addEventListener('loadedmetadata', () => { $('#seek').max = a.duration || 0; editor.shownSecond = -1; updateClock(); });
  a.addEventListener('ratechange', () => { $('#rate').textContent = a.playbackRate.toFixed(1) + '×'; playTick(); });
  $('#play-btn').addEventListener('click', audioCtl.toggle);
  $('#back-btn').addEventListener('click', () => audioCtl.seek(a.currentTime - audioCtl.step));
  $('#fwd-btn').addEventListener('click', () => audioCtl.seek(a.currentTime + audioCtl.step));
  $('#slower-btn').addEventListener('click', () => audioCtl.rate(-0.1));
  $('#faster-btn').addEventListener('click', () => audioCtl.rate(0.1));
  $('#seek').addEventListener('input', (e) => audioCtl.seek(Number(e.target.value)));
}

/* uncertain words, jump to time */

// Index of the last text word at or before the caret, -1 if none.
function caretWordIndex() {
  const sel = getSelection();
  if (!sel.rangeCount || !editor.box.contains(sel.focusNode)) return -1;
  hydrate(topBlock(sel.focusNode));
  const node = sel.focusNode;
  const { els, blocks } = editor.idx;
  let lo = 0, hi = els.length - 1, ans = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const e = els[mid] || blocks[mid];
    const before = e && (e === node || e.contains(node) || (e.compareDocumentPosition(node) & Node.DOCUMENT_POSITION_FOLLOWING));
    if (before) { ans = mid; lo = mid + 1; } else hi = mid - 1;
  }
  return ans;
}

function nextLowConf() {
  if (isDirty()) syncWords();
  const from = caretWordIndex();
  const { words, els } = editor.idx;
  const n = words.length;
  for (let s = 1; s <= n; s++) {
    const k = (from + s + n) % n;
    const low = els[k] ? els[k].classList.contains('lowconf') : words[k].probability < LOWCONF;
    if (low && spanOf(k)) return selectWord(editor.idx.els[k]);
  }
  showBanner('No uncertain words left.', 'info');
  setTimeout(() => showBanner(''), 2500);
}

function selectWord(span) {
  editor.box.focus({ preventScroll: true });
  const range = document.createRange();
  range.selectNodeContents(span.firstChild || span);
  const sel = getSelection();
  sel.removeAllRanges();
  sel.addRange(range);
  const r = span.getBoundingClientRect(), b = editor.box.getBoundingClientRect();
  if (r.top < b.top || r.bottom > b.bottom) span.scrollIntoView({ block: 'center' });
  if (span._w) audioCtl.seek(span._w.start);
}

function openJump() {
  const dlg = $('#jump-dialog');
  dlg.returnValue = '';
  $('#jump-form').t.value = fmtTime(editor.audio.currentTime);
  dlg.showModal();
  $('#jump-form').t.select();
}

function onJumpClose() {
  const dlg = $('#jump-dialog');
  const t = parseTime($('#jump-form').t.value);
  if (dlg.returnValue === 'ok' && t != null) audioCtl.seek(t);
  editor.box.focus({ preventScroll: true });
}

/* flags */

function openFlag() {
  if (!editor.dict || editor.readOnly) return;
  const a = editor.audio;
  const t = a.currentTime;
  a.pause();
  const dlg = $('#flag-dialog');
  dlg.dataset.time = String(t);
  $('#flag-time').textContent = fmtTime(t);
  $('#flag-form').reset();
  dlg.returnValue = '';
  dlg.showModal();
}

async function onFlagClose() {
  const dlg = $('#flag-dialog');
  editor.box.focus({ preventScroll: true });
  if (dlg.returnValue !== 'ok') return;
  const f = $('#flag-form');
  try {
    await api('POST', `/api/dictations/${editor.id}/flags`,
      { json: { kind: f.kind.value, time_s: round3(Number(dlg.dataset.time)), note: f.note.value } });
    await loadDetails();
  } catch (e) {
    if (e.status !== 401) showBanner('Flag not added: ' + e.message);
  }
}

const flagResolved = (f) => !!(f.resolved || f.resolved_at || f.resolved_by);
const flagTime = (f) => Number(f.time_s ?? f.time ?? 0);

function unresolvedFlags() {
  return (editor.dict.flags || []).filter((f) => !flagResolved(f)).length;
}

function renderFlags() {
  const d = editor.dict;
  const flags = [...(d.flags || [])].sort((x, y) => flagTime(x) - flagTime(y));
  const open = unresolvedFlags();
  $('#flag-count').textContent = `(${open} open)`;
  const block = $('#flags-block');
  block.hidden = open === 0;
  block.textContent = `${open} unresolved flag${open === 1 ? '' : 's'}: resolve before sending for signature or signing.`;
  const canResolve = d.can && d.can.edit;
  $('#flags').replaceChildren(...flags.map((f) => el('li', { class: flagResolved(f) ? 'resolved' : '', dataset: { id: f.id } },
    el('div', { class: 'row' },
      el('button', { type: 'button', class: 'linkish', title: 'Play from here', onclick: () => audioCtl.seek(flagTime(f)) },
        fmtTime(flagTime(f))),
      el('span', { class: 'tag' }, f.kind),
      flagResolved(f) ? el('span', { class: 'tag' }, 'resolved') : null,
      !flagResolved(f) && canResolve
        ? el('button', { type: 'button', class: 'resolve', onclick: () => resolveFlag(f.id) }, 'Resolve') : null),
    f.note ? el('div', {}, f.note) : null)));
  if (!flags.length) $('#flags').append(el('li', { class: 'resolved' }, 'No flags.'));
}

async function resolveFlag(id) {
  try {
    await api('POST', `/api/dictations/${editor.id}/flags/${id}/resolve`, { json: {} });
    await loadDetails();
  } catch (e) {
    if (e.status !== 401) showBanner('Flag not resolved: ' + e.message);
  }
}

/* vocabulary corrections */

function renderCorrections() {
  const list = (editor.doc && editor.doc.corrections) || [];
  const canDecide = !editor.readOnly;
  $('#corr-count').textContent = `(${list.filter((c) => c.decision == null).length} to review)`;
  $('#corrections').replaceChildren(...list.map((c, i) => el('li', { dataset: { index: i } },
    el('div', { class: 'row' },
      c.start != null ? el('button', { type: 'button', class: 'linkish', onclick: () => audioCtl.seek(c.start) }, fmtTime(c.start)) : null,
      el('span', { class: 'corr-from' }, c.from), '→', el('span', { class: 'corr-to' }, c.to),
      el('span', { class: 'tag' }, c.applied ? 'applied' : 'suggested'),
      c.decision ? el('span', { class: 'tag' }, c.decision === 'accept' ? 'accepted' : 'rejected') : null),
    c.decision == null && canDecide ? el('div', { class: 'row' },
      el('button', { type: 'button', onclick: () => decide(i, 'accept') }, 'Accept'),
      el('button', { type: 'button', onclick: () => decide(i, 'reject') }, 'Reject'),
      c.reason ? el('span', { class: 'hint' }, c.reason) : null) : null)));
  if (!list.length) $('#corrections').append(el('li', { class: 'resolved' }, 'None.'));
  markCorrections();
}

// Underline the words of undecided corrections, matched by their audio time span.
function markCorrections(root = editor.box) {
  const eps = 0.01;
  const open = ((editor.doc && editor.doc.corrections) || []).filter((c) => c.decision == null && c.start != null);
  for (const s of root.getElementsByClassName('w')) {
    const w = s._w;
    const on = !!w && open.some((c) => w.start >= c.start - eps && w.end <= c.end + eps);
    if (on !== s.classList.contains('corr')) s.classList.toggle('corr', on);
  }
}

async function decide(index, decision) {
  if (!(await saveNow())) return;
  try {
    await api('POST', `/api/dictations/${editor.id}/corrections/${index}`,
      { json: { decision }, headers: { 'If-Match': `"${editor.revision}"` } });
    await loadTranscript();
    await loadDetails();
  } catch (e) {
    if (e.status === 409) { showBanner('Someone else changed this report; reloaded.'); await loadTranscript(); }
    else if (e.status !== 401) showBanner(e.message);
  }
}

/* actions: transitions, sign, addenda */

function transitionLabel(to, state) {
  if (to === 'qa') return 'Send to QA';
  if (to === 'awaiting_signature') return 'Send for signature';
  if (to === 'in_edit' && state === 'awaiting_signature') return 'Reject…';
  if (to === 'in_edit' && state === 'qa') return 'Return to editor…';
  if (to === 'in_edit') return 'Start editing';
  if (to === 'uploaded') return 'Retry transcription';
  return 'Move to ' + (STATE_LABELS[to] || to);
}

function renderActions() {
  const d = editor.dict;
  const can = d.can || {};
  const open = unresolvedFlags();
  const box = $('#actions');
  box.replaceChildren();
  for (const to of can.transition || []) {
    const blocked = to === 'awaiting_signature' && open > 0;
    box.append(el('button', { type: 'button', class: 'transition', dataset: { to }, disabled: blocked,
      title: blocked ? 'Resolve all flags first' : null, onclick: () => transition(to) }, transitionLabel(to, d.state)));
  }
  if (can.sign) {
    box.append(el('button', { type: 'button', id: 'sign-btn', class: 'primary', disabled: open > 0,
      title: open > 0 ? 'Resolve all flags first' : null, onclick: openSign }, 'Sign…'));
  }
  if (can.addendum) box.append(el('button', { type: 'button', id: 'addendum-btn', onclick: openAddendum }, 'Add addendum'));
  if (open > 0 && (can.sign || (can.transition || []).includes('awaiting_signature'))) {
    box.append(el('span', { class: 'blocking' }, 'Signing is blocked by unresolved flags.'));
  }
  const sig = (d.signatures || []).at(-1);
  if (sig) box.append(el('span', { class: 'hint' }, `Signed by ${sig.signer} on ${fmtDate(sig.signed_at)} (version ${sig.version}).`));
}

async function transition(to) {
  const d = editor.dict;
  let reason;
  if (to === 'in_edit' && ['qa', 'awaiting_signature'].includes(d.state)) {
    reason = await askReason(transitionLabel(to, d.state).replace('…', ''));
    if (!reason) return;
  }
  if (!(await saveNow())) return;
  try {
    await api('POST', `/api/dictations/${editor.id}/transition`, { json: reason ? { to, reason } : { to } });
    showBanner(`Moved to ${STATE_LABELS[to] || to}.`, 'info');
    await loadDetails();
    await loadTranscript();
  } catch (e) {
    if (e.status !== 401) showBanner(e.message);
  }
}

function askReason(title) {
  const dlg = $('#reason-dialog');
  $('#reason-title').textContent = title;
  $('#reason-form').reset();
  dlg.returnValue = '';
  dlg.showModal();
  return new Promise((resolve) => dlg.addEventListener('close', () => {
    resolve(dlg.returnValue === 'ok' ? $('#reason-form').reason.value.trim() : null);
  }, { once: true }));
}

async function openSign() {
  if (!(await saveNow())) return;
  $('#sign-text').textContent = joinWords(editor.words);
  const dlg = $('#sign-dialog');
  dlg.returnValue = '';
  dlg.showModal();
}

async function onSignClose() {
  if ($('#sign-dialog').returnValue !== 'ok') return;
  try {
    await api('POST', `/api/dictations/${editor.id}/sign`, { json: { revision: editor.revision } });
    showBanner('Signed.', 'info');
    await loadDetails();
    await loadTranscript();
  } catch (e) {
    if (e.status !== 401) showBanner('Not signed: ' + e.message);
  }
}

function openAddendum() {
  const dlg = $('#addendum-dialog');
  $('#addendum-form').reset();
  dlg.returnValue = '';
  dlg.showModal();
}

async function onAddendumClose() {
  if ($('#addendum-dialog').returnValue !== 'ok') return;
  const text = $('#addendum-form').text.value.trim();
  if (!text) return;
  try {
    await api('POST', `/api/dictations/${editor.id}/addenda`, { json: { text } });
    showBanner('Addendum added; the report awaits signature again.', 'info');
    await loadDetails();
    await loadTranscript();
  } catch (e) {
    if (e.status !== 401) showBanner('Addendum not added: ' + e.message);
  }
}

/* history and exports */

function renderRevisions() {
  const revs = editor.dict.revisions || [];
  $('#revisions').replaceChildren(...revs.map((r, i) => el('li', {},
    el('div', { class: 'row' },
      el('strong', {}, `r${r.id}`), el('span', { class: 'tag' }, r.kind), el('span', {}, r.author)),
    el('div', { class: 'row' },
      el('span', { class: 'hint' }, fmtDate(r.created_at)),
      i > 0 ? el('button', { type: 'button', class: 'diff-btn', onclick: () => showDiff(revs[0].id, r.id) }, 'Diff vs first draft') : null))));
}

async function showDiff(firstId, revId) {
  const box = $('#diff');
  box.textContent = 'Loading…';
  try {
    const [a, b] = await Promise.all([firstId, revId].map((n) =>
      api('GET', `/api/dictations/${editor.id}/transcript?revision=${n}`)));
    const words = (r) => joinWords(allWords(r.data.document)).split(/ +/);
    box.replaceChildren(el('h3', {}, `r${firstId} → r${revId}`), renderDiff(diffWords(words(a), words(b))));
  } catch (e) {
    box.textContent = e.message;
  }
}

function renderExports() {
  const id = editor.id;
  $('#exports').replaceChildren(...EXPORT_FORMATS.map(([f, label]) => el('li', {},
    el('a', { href: `/api/dictations/${id}/export?format=${f}`, target: '_blank', rel: 'noopener' }, label))));
}

/* editor event wiring */

editor.actions = {
  playPause: () => audioCtl.toggle(),
  back: () => audioCtl.seek(editor.audio.currentTime - audioCtl.step),
  forward: () => audioCtl.seek(editor.audio.currentTime + audioCtl.step),
  slower: () => audioCtl.rate(-0.1),
  faster: () => audioCtl.rate(0.1),
  jump: openJump,
  nextLowConf,
  flag: openFlag,
};

editor.showKeyHints = () => {
  const k = (a) => keysFor(a)[0] || '';
  $('#keys-hint').textContent = `${k('playPause')} play · ${k('back')}/${k('forward')} ±3 s · ${k('slower')}/${k('faster')} speed`
    + ` · ${k('nextLowConf')} uncertain · ${k('flag')} flag · ${k('jump')} jump`;
  $('#lowconf-btn').title = 'Next uncertain word (' + k('nextLowConf') + ')';
  $('#flag-btn').title = 'Flag at current time (' + k('flag') + ')';
};

function initEditor() {
  const box = editor.box;
  box.addEventListener('input', onEdit);
  box.addEventListener('beforeinput', (e) => {
    // Plain text only: no bold/italic from shortcuts, nothing while read-only.
    if (editor.readOnly || e.inputType.startsWith('format')) { e.preventDefault(); return; }
    hydrateSelection(); // edit word spans, not plain text, so timings are kept exactly
  });
  box.addEventListener('paste', (e) => {
    e.preventDefault();
    if (editor.readOnly) return;
    hydrateSelection();
    document.execCommand('insertText', false, e.clipboardData.getData('text/plain'));
  });
  box.addEventListener('drop', (e) => e.preventDefault());
  box.addEventListener('click', (e) => {
    const span = e.target.closest && e.target.closest('span.w');
    if (span && span._w && getSelection().isCollapsed) audioCtl.seek(span._w.start);
  });
  $('#lowconf-btn').addEventListener('click', nextLowConf);
  $('#flag-btn').addEventListener('click', openFlag);
  $('#restore-yes').addEventListener('click', () => restoreBackup(true));
  $('#restore-no').addEventListener('click', () => restoreBackup(false));
  $('#conflict-mine-btn').addEventListener('click', () => resolveConflict(true));
  $('#conflict-theirs-btn').addEventListener('click', () => resolveConflict(false));
  $('#flag-dialog').addEventListener('close', onFlagClose);
  $('#jump-dialog').addEventListener('close', onJumpClose);
  $('#sign-dialog').addEventListener('close', onSignClose);
  $('#addendum-dialog').addEventListener('close', onAddendumClose);
  initAudio();
}

/* start */

async function start() {
  app.keys = loadKeys();
  $('#login-form').addEventListener('submit', onLogin);
  $('#logout-btn').addEventListener('click', onLogout);
  $('#settings-btn').addEventListener('click', openSettings);
  $('#settings-dialog').addEventListener('close', onSettingsClose);
  $('#refresh-btn').addEventListener('click', () => loadWorklist(false));
  $('#upload-form').addEventListener('submit', onUpload);
  const tbody = $('#worklist tbody');
  tbody.addEventListener('keydown', onWorklistKey);
  tbody.addEventListener('click', (e) => openRow(e.target.closest('tr')));
  document.addEventListener('keydown', onGlobalKey, true);
  window.addEventListener('hashchange', route);
  window.addEventListener('beforeunload', (e) => {
    if (editor.id && isDirty()) { editor.backupNow(); e.preventDefault(); }
  });
  initEditor();
  editor.showKeyHints();
  try {
    const r = await api('GET', '/api/me', { allow401: true });
    app.user = r.data.user;
    app.csrf = r.data.csrf;
  } catch {
    app.user = null;
  }
  route();
}

start();
