// Key takeaways and calls to action for the session report: a small form to flag one (from
// an item, a caption line or from scratch), the list of flags with edit and delete, and the
// recent caption lines with a "Flag" action each.

import { t, onLanguageChange } from './i18n.js';
import {
  h, fill, badge, bidi, errorText, flash, formatTime, languageName, kindLabel,
} from './ui.js';
import { shorten, textDirection } from './audience.js';

export const FLAG_KINDS = ['takeaway', 'call_to_action'];
let formCount = 0;

/**
 * The flag form: kind (takeaway or call to action) and text. `ref` is `{item}` or
 * `{caption}` (or nothing); `id` edits that flag. Resolves through `onDone`; Escape or
 * Cancel call `onCancel`.
 */
export function flagForm(client, { kind = 'takeaway', text = '', ref = {}, id = null, onDone, onCancel,
  say } = {}) {
  formCount += 1;
  const prefix = `flag-${formCount}`;
  const radios = FLAG_KINDS.map((k) => {
    const input = h('input', { type: 'radio', name: `${prefix}-kind`, id: `${prefix}-${k}`, value: k,
      checked: k === kind });
    return h('span', { class: 'choice' }, input, h('label', { for: `${prefix}-${k}` }, t(`flag.kind_${k}`)));
  });
  const field = h('textarea', { id: `${prefix}-text`, rows: '3', maxlength: '2000', dir: 'auto' });
  field.value = text;
  const message = h('p', { class: 'form-message', role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit', class: 'btn btn-sm btn-primary' }, t(id ? 'flag.save' : 'flag.submit'));
  const cancel = h('button', { type: 'button', class: 'btn btn-sm' }, t('common.cancel'));
  const form = h('form', { class: 'inline-form flag-form', novalidate: true },
    h('fieldset', { class: 'choices' }, h('legend', {}, t('flag.kind')), radios),
    h('label', { for: `${prefix}-text` }, t('flag.text')), field, message,
    h('div', { class: 'actions' }, submit, cancel));
  cancel.addEventListener('click', () => onCancel && onCancel());
  form.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape') {
      ev.preventDefault();
      if (onCancel) onCancel();
    }
  });
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const body = field.value.trim();
    if (!body) {
      flash(message, t('mod.text_needed'), 'error');
      field.focus();
      return;
    }
    const chosen = form.querySelector(`input[name="${prefix}-kind"]:checked`).value;
    const frame = { kind: chosen, text: body };
    if (ref.item) frame.item = ref.item;
    if (ref.caption !== undefined && ref.caption !== null) frame.caption = ref.caption;
    if (id) frame.id = id;
    submit.disabled = true;
    client.send('flag', frame).then((ack) => {
      if (say) say(t(id ? 'flag.saved' : 'flag.added', { kind: t(`flag.kind_${chosen}`) }));
      if (onDone) onDone(ack);
    }, (error) => {
      submit.disabled = false;
      flash(message, errorText(error), 'error');
    });
  });
  window.setTimeout(() => field.focus(), 0);
  return form;
}

// ---------------------------------------------------------------- the list of flags

export function flagsPanel(client, { say } = {}) {
  const model = client.model;
  const list = h('ul', { id: 'flag-list', class: 'item-list' });
  const empty = h('p', { class: 'empty', dataset: { i18n: 'flag.empty' } });
  const addButton = h('button', { type: 'button', class: 'btn btn-sm', id: 'flag-add', dataset: { i18n: 'flag.add' } });
  const addPanel = h('div', { class: 'panel' });
  const root = h('section', { class: 'card flags', id: 'flags', 'aria-labelledby': 'flags-title' },
    h('div', { class: 'card-head' },
      h('h2', { id: 'flags-title', tabindex: '-1' }, h('span', { dataset: { i18n: 'flag.title' } }),
        h('span', { id: 'flag-count', class: 'count-pill' }, '0')),
      addButton),
    h('p', { class: 'hint', dataset: { i18n: 'flag.help' } }),
    addPanel, empty, list);
  const nodes = new Map();

  addButton.addEventListener('click', () => {
    fill(addPanel, flagForm(client, {
      say,
      onDone: () => { fill(addPanel); addButton.focus(); },
      onCancel: () => { fill(addPanel); addButton.focus(); },
    }));
  });

  const source = (flag) => {
    if (flag.item) {
      const item = model.items.get(flag.item);
      return item ? t('flag.from_item', { kind: kindLabel(item.kind), text: bidi(shorten(item.text, 60)) })
        : t('flag.from_item_id', { id: flag.item });
    }
    if (flag.caption !== null && flag.caption !== undefined) return t('flag.from_caption', { seq: flag.caption });
    return '';
  };

  const card = (flag) => {
    const head = h('div', { class: 'item-head' });
    const text = h('p', { class: 'item-text', dir: 'auto' });
    const meta = h('p', { class: 'item-author' });
    const edit = h('button', { type: 'button', class: 'btn btn-sm', dataset: { action: 'edit-flag' } });
    const remove = h('button', { type: 'button', class: 'btn btn-sm btn-danger', dataset: { action: 'delete-flag' } });
    const panel = h('div', { class: 'panel' });
    const node = h('li', { class: 'item flag-item', dataset: { id: flag.id } }, head, text, meta,
      h('div', { class: 'actions' }, edit, remove), panel);
    const close = (focus) => {
      fill(panel);
      if (focus) focus.focus();
    };
    edit.addEventListener('click', () => {
      const now = model.flags.get(node.dataset.id);
      if (!now) return;
      fill(panel, flagForm(client, {
        say, id: now.id, kind: now.kind, text: now.text,
        ref: { item: now.item, caption: now.caption },
        onDone: () => close(edit),
        onCancel: () => close(edit),
      }));
    });
    remove.addEventListener('click', () => {
      const yes = h('button', { type: 'button', class: 'btn btn-sm btn-danger' }, t('flag.delete_confirm'));
      const no = h('button', { type: 'button', class: 'btn btn-sm' }, t('common.cancel'));
      const message = h('p', { class: 'form-message', role: 'alert', hidden: true });
      no.addEventListener('click', () => close(remove));
      yes.addEventListener('click', () => {
        yes.disabled = true;
        client.send('flag', { id: node.dataset.id, delete: true }).then(() => {
          say(t('flag.deleted'));
          window.setTimeout(() => {
            if (!node.isConnected) (list.querySelector('button') || addButton).focus();
          }, 0);
        }, (error) => {
          yes.disabled = false;
          flash(message, errorText(error), 'error');
        });
      });
      fill(panel, h('div', { class: 'inline-form', role: 'group', 'aria-label': t('flag.delete_question') },
        h('p', {}, t('flag.delete_question')), message, h('div', { class: 'actions' }, yes, no)));
      no.focus(); // the safe choice first
    });
    node.update = (f) => {
      fill(head, badge(t(`flag.kind_${f.kind}`), `flag-${f.kind}`));
      text.textContent = f.text;
      const parts = [source(f), f.by ? t('flag.by', { name: bidi(f.by) }) : '', formatTime(f.ts)].filter(Boolean);
      meta.textContent = parts.join(' · ');
      const label = shorten(f.text, 40);
      edit.textContent = t('flag.edit');
      edit.setAttribute('aria-label', t('flag.edit_label', { text: label }));
      remove.textContent = t('flag.delete');
      remove.setAttribute('aria-label', t('flag.delete_label', { text: label }));
    };
    return node;
  };

  const render = () => {
    const flags = [...model.flags.values()].sort((a, b) => (a.ts || 0) - (b.ts || 0));
    const wanted = new Set(flags.map((f) => f.id));
    for (const [id, node] of nodes) {
      if (!wanted.has(id)) {
        node.remove();
        nodes.delete(id);
      }
    }
    let previous = null;
    for (const flag of flags) {
      let node = nodes.get(flag.id);
      if (!node) {
        node = card(flag);
        nodes.set(flag.id, node);
      }
      node.update(flag);
      const expected = previous ? previous.nextSibling : list.firstChild;
      if (node !== expected) list.insertBefore(node, expected);
      previous = node;
    }
    empty.hidden = flags.length > 0;
    root.querySelector('#flag-count').textContent = String(flags.length);
  };

  client.addEventListener('welcome', render);
  client.addEventListener('update', (ev) => {
    if (ev.detail.kind === 'flag' || ev.detail.kind === 'item') render();
  });
  onLanguageChange(render);
  return { root, render };
}

// ---------------------------------------------------------------- recent captions

/** The last caption lines of one language, each with a "Flag" action. */
export function recentCaptions(client, { say, keep = 8 } = {}) {
  const model = client.model;
  const select = h('select', { id: 'mod-captions-lang', class: 'inline-select' });
  const list = h('ul', { id: 'mod-captions-list', class: 'caption-lines' });
  const empty = h('p', { class: 'empty', dataset: { i18n: 'captions.empty' } });
  const root = h('section', { class: 'card recent-captions', id: 'mod-captions',
    'aria-labelledby': 'mod-captions-title' },
    h('div', { class: 'card-head' },
      h('h2', { id: 'mod-captions-title', dataset: { i18n: 'modcap.title' } }),
      h('div', { class: 'inline-field' },
        h('label', { for: 'mod-captions-lang', class: 'inline-label', dataset: { i18n: 'captions.language' } }),
        select)),
    empty, list);
  let lang = null;
  const nodes = new Map();

  const keyOf = (line) => `${line.lang}:${line.seq ?? ''}:${line.ts}`;

  const row = (line) => {
    const flag = h('button', { type: 'button', class: 'btn btn-sm btn-ghost', dataset: { action: 'flag-caption' } });
    const panel = h('div', { class: 'panel' });
    const node = h('li', { class: 'caption-line', dataset: { seq: line.seq ?? '' } },
      h('div', { class: 'caption-line-main' },
        h('p', { class: 'cap-text', dir: textDirection(line.lang), lang: line.lang },
          line.speaker ? h('span', { class: 'cap-speaker' },
            t('captions.speaker', { name: bidi(line.speaker) }), ' ') : null,
          line.text),
        flag),
      panel);
    const close = () => {
      fill(panel);
      flag.focus();
    };
    flag.addEventListener('click', () => {
      fill(panel, flagForm(client, {
        say, text: line.text,
        ref: line.seq !== undefined && line.seq !== null ? { caption: line.seq } : {},
        onDone: close, onCancel: close,
      }));
    });
    node.relabel = () => {
      flag.textContent = t('mod.flag');
      flag.setAttribute('aria-label', t('modcap.flag_label', { text: shorten(line.text, 40) }));
    };
    node.relabel();
    return node;
  };

  const render = () => {
    const languages = (model.session && model.session.languages) || [];
    if (!lang || !languages.includes(lang)) lang = languages[0] || 'en';
    fill(select, languages.map((tag) => h('option', { value: tag, lang: tag, text: languageName(tag) })));
    select.value = lang;
    select.disabled = languages.length < 2;
    const lines = (model.captions[lang] || []).slice(-keep);
    const wanted = new Set(lines.map(keyOf));
    for (const [key, node] of nodes) {
      if (!wanted.has(key)) {
        node.remove();
        nodes.delete(key);
      }
    }
    let previous = null;
    for (const line of lines) {
      const key = keyOf(line);
      let node = nodes.get(key);
      if (!node) {
        node = row(line);
        nodes.set(key, node);
      }
      const expected = previous ? previous.nextSibling : list.firstChild;
      if (node !== expected) list.insertBefore(node, expected);
      previous = node;
    }
    empty.hidden = lines.length > 0;
  };

  select.addEventListener('change', () => {
    lang = select.value;
    render();
  });
  client.addEventListener('welcome', render);
  client.addEventListener('update', (ev) => {
    const { kind, data } = ev.detail;
    if ((kind === 'caption' && data.final !== false) || (kind === 'session' && data.languages)) render();
  });
  onLanguageChange(() => {
    for (const node of nodes.values()) node.relabel();
    render();
  });
  return { root, render };
}
