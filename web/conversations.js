// The conversation list beside the chat: the caller's stored conversations, newest first; open
// one, rename it, delete it, or start a new chat. The backend keeps the history: in a conversation the page
// sends only the new question with sessionState {conversationId}, and the answer says where it was stored.
// The current id is kept in sessionStorage, so a reload of this tab shows the same conversation and goes on.
'use strict';
/* exported startConversations */

const CURRENT_KEY = 'conversationId';
/** The list shows one page; older conversations stay reachable through the API. */
const LIST_SIZE = 50;

/**
 * Sets up the panel. `call(method, path, body?)` resolves with the API's parsed JSON (or undefined for
 * 204) and throws the page's usual errors; `onOpen(messages)` shows a conversation's messages
 * ([{role, content}], [] for a new chat); `onError(error)` shows an error. Returns the page's side of it:
 * requestBody(messages), answered(context), accountChanged(name), restore({enabled, signedIn}), setBusy(busy).
 */
function startConversations({ call, onOpen, onError }) {
  const panel = document.getElementById('conversations');
  const list = document.getElementById('conversation-list');
  let current = sessionStorage.getItem(CURRENT_KEY) ?? undefined;
  let account; // the signed-in name at the last change; another one means another caller's space
  let seenAccount = false;
  let listing = 0; // the latest list request: an older answer arriving late must not overwrite a newer one
  let listed = []; // as last shown, to mark another current one without asking again
  let enabled = false; // config.json says the backend keeps conversations: asking otherwise only gets 503s

  document.getElementById('new-chat').addEventListener('click', () => {
    hold(undefined);
    onOpen([]);
    render(listed);
  });

  function hold(id) {
    current = id;
    if (id === undefined) sessionStorage.removeItem(CURRENT_KEY);
    else sessionStorage.setItem(CURRENT_KEY, id);
  }

  /** Reads the list again; a store that does not answer (503) hides the panel quietly: chats still work. */
  async function refresh() {
    const request = ++listing;
    try {
      const { conversations } = await call('GET', `conversations?pageSize=${LIST_SIZE}`);
      if (request !== listing) return;
      listed = conversations;
      render(conversations);
      panel.hidden = false;
    } catch (error) {
      if (request !== listing) return;
      panel.hidden = true;
      if (error.code !== 'conversations_unavailable') onError(error);
    }
  }

  function render(conversations) {
    list.replaceChildren(...conversations.map(item));
  }

  function item(conversation) {
    const li = document.createElement('li');
    li.className = 'conversation';
    li.dataset.id = conversation.id;
    if (conversation.id === current) li.setAttribute('aria-current', 'true');
    const open = button('title', conversation.title, `Open "${conversation.title}"`, () =>
      openConversation(conversation.id),
    );
    const rename = button('rename', '✎', `Rename "${conversation.title}"`, () => startRename(li, conversation));
    const remove = button('delete', '✕', `Delete "${conversation.title}"`, () => deleteConversation(conversation));
    li.append(open, rename, remove);
    return li;
  }

  /** Loads a conversation's messages (every page of turns) and makes it the one the next question goes on. */
  async function openConversation(id) {
    try {
      const messages = [];
      let token;
      do {
        const query = `pageSize=100${token ? `&continuationToken=${encodeURIComponent(token)}` : ''}`;
        const page = await call('GET', `conversations/${encodeURIComponent(id)}?${query}`);
        messages.push(...page.messages.filter(shown).map((m) => ({ role: m.role, content: textOf(m.content) })));
        token = page.continuationToken;
      } while (token);
      hold(id);
      onOpen(messages);
    } catch (error) {
      // A conversation deleted elsewhere (or expired) is forgotten here too.
      if (error.status === 404 && id === current) hold(undefined);
      onError(error);
    }
    await refresh();
  }

  /** Swaps the title for a box: Enter (or leaving the box) renames, Escape keeps the old title. */
  function startRename(li, conversation) {
    const form = document.createElement('form');
    form.className = 'rename-form';
    const input = document.createElement('input');
    input.value = conversation.title;
    input.maxLength = 200;
    input.setAttribute('aria-label', 'New title');
    form.append(input);
    li.querySelector('.title').replaceWith(form);
    input.select();
    let settled = false; // Enter then the blur of the removed box must rename once
    const settle = async (save) => {
      if (settled) return;
      settled = true;
      const title = input.value.trim();
      if (save && title !== '' && title !== conversation.title) {
        try {
          await call('PATCH', `conversations/${encodeURIComponent(conversation.id)}`, { title });
        } catch (error) {
          onError(error);
        }
      }
      await refresh();
    };
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void settle(true);
    });
    input.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') void settle(false);
    });
    input.addEventListener('blur', () => void settle(true));
  }

  async function deleteConversation(conversation) {
    if (!window.confirm(`Delete "${conversation.title}"? Its messages are deleted too.`)) return;
    try {
      await call('DELETE', `conversations/${encodeURIComponent(conversation.id)}`);
      if (conversation.id === current) {
        hold(undefined);
        onOpen([]);
      }
    } catch (error) {
      onError(error);
    }
    await refresh();
  }

  return {
    /**
     * The chat request's body. In a conversation only the new question goes (the backend has the rest);
     * otherwise the page's whole history, asking for a new conversation ("new": a key caller is stateless
     * without it; a backend without a store answers statelessly).
     */
    requestBody(messages) {
      if (current === undefined) return { messages, sessionState: { conversationId: 'new' } };
      return { messages: messages.slice(-1), sessionState: { conversationId: current } };
    },
    /** After an answer: its `context`, which says where it was stored; the list is read again. */
    answered(context) {
      const stored = context?.conversation;
      if (stored?.state !== 'stored' && stored?.state !== 'partial') return;
      hold(stored.id);
      void refresh();
    },
    /** The signed-in name changed: another space, so a new chat, and that user's list (none signed out). */
    accountChanged(name) {
      const changed = seenAccount && name !== account;
      seenAccount = true;
      account = name;
      if (!changed) return; // the first call is the page starting: restore() does that
      hold(undefined);
      onOpen([]);
      if (name === undefined || !enabled) panel.hidden = true;
      else void refresh();
    },
    /**
     * At start, once config.json is read: reopens this tab's conversation, or lists a signed-in user's.
     * `enabled`: the backend keeps conversations; `signedIn`: a user's token is held.
     */
    async restore(start) {
      enabled = start.enabled === true;
      if (!enabled) {
        hold(undefined); // kept by a tab that talked to another backend
        return;
      }
      if (current !== undefined) await openConversation(current);
      else if (start.signedIn) await refresh();
    },
    /** While an answer streams, the list waits: another conversation must not receive it. */
    setBusy(busy) {
      panel.inert = busy;
    },
  };
}

function button(className, text, label, onClick) {
  const element = document.createElement('button');
  element.type = 'button';
  element.className = className;
  element.textContent = text;
  element.title = label;
  element.setAttribute('aria-label', label);
  element.addEventListener('click', onClick);
  return element;
}

/** Questions and answers; system messages are the app's, not the reader's. */
function shown(message) {
  return message.role === 'user' || message.role === 'assistant';
}

/** A message's text: content is a string, or parts of which the text ones are shown. */
function textOf(content) {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .filter((part) => part?.type === 'text')
    .map((part) => part.text)
    .join('\n');
}
