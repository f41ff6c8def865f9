// Signing in on the demo page. GET config.json says how this backend signs users in (and
// whether it keeps conversations, passed on to conversations.js):
// - "local": a "Sign in as" box; tokens come from npm start's identity provider, which asks no password
//   (it listens on loopback, for development only);
// - "msal": Microsoft Entra ID through MSAL's popup, with the SPA registration and the API's scope;
// - "none": the function key field only.
// Signed in, the page sends Authorization: Bearer <access token> instead of the function key. Tokens live in
// this tab only (memory and sessionStorage), never in localStorage beside the key.
'use strict';
/* exported startSignIn */
/* global msal -- MSAL's browser build, vendor/msal-browser.js, loaded by msalSession */

/** A token with less than this left (ms) is fetched again before use, so it cannot expire in flight. */
const RENEW_BEFORE_MS = 60_000;
const LOCAL_SESSION_KEY = 'localSignIn';

/**
 * Reads config.json and sets up the sign-in controls in the header. Resolves with the session:
 * { kind, conversations, accessToken(), signOut() } (conversations: the backend keeps them); accessToken resolves with a token fresh enough to send, or undefined
 * when nobody is signed in. onChange(name) is called with the signed-in name (undefined: signed out),
 * onError(message) when signing in fails.
 */
async function startSignIn({ onChange, onError }) {
  const page = await pageConfig();
  const config = page.signIn ?? { kind: 'none' };
  const conversations = page.conversations === true;
  const session =
    config.kind === 'local' ? localSession(config) : config.kind === 'msal' ? await msalSession(config) : undefined;
  if (session === undefined) {
    return { kind: 'none', conversations, accessToken: async () => undefined, signOut: async () => {} };
  }
  const show = showAccount(session, onChange);
  wireControls({ kind: config.kind, session, show, onError });
  show();
  return {
    kind: config.kind,
    conversations,
    accessToken: () => session.accessToken(),
    async signOut() {
      await session.signOut();
      show();
    },
  };
}

/** config.json: how this backend signs users in; an unreadable one leaves the page with the key only. */
async function pageConfig() {
  const response = await fetch('config.json', { cache: 'no-cache' });
  if (!response.ok) throw new Error(`Sign-in is unavailable: config.json answered ${response.status}.`);
  return response.json();
}

/** A function that shows who is signed in: the name and Sign out, or the sign-in form. */
function showAccount(session, onChange) {
  const form = document.getElementById('sign-in');
  const account = document.getElementById('account');
  const who = document.getElementById('who');
  return () => {
    const name = session.account();
    form.hidden = name !== undefined;
    account.hidden = name === undefined;
    who.textContent = name === undefined ? '' : `signed in as ${name}`;
    onChange(name);
  };
}

function wireControls({ kind, session, show, onError }) {
  const form = document.getElementById('sign-in');
  const userInput = document.getElementById('user');
  const button = document.getElementById('sign-in-button');
  // With MSAL the user picks an account in Microsoft's popup: no name to type.
  document.getElementById('user-field').hidden = kind !== 'local';
  userInput.required = kind === 'local';
  if (kind === 'msal') button.textContent = 'Sign in with Microsoft';

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    button.disabled = true;
    try {
      await session.signIn(userInput.value.trim());
    } catch (error) {
      onError(error.message);
    } finally {
      button.disabled = false;
      show();
    }
  });
  document.getElementById('sign-out').addEventListener('click', async () => {
    await session.signOut();
    show();
  });
}

/** npm start's provider: POST {"user"} to its token URL, keep the token until it nears expiry. */
function localSession({ tokenUrl }) {
  let held = restoreLocal();
  const keep = (value) => {
    held = value;
    if (value === undefined) sessionStorage.removeItem(LOCAL_SESSION_KEY);
    else sessionStorage.setItem(LOCAL_SESSION_KEY, JSON.stringify(value));
  };
  return {
    account: () => held?.user,
    async signIn(user) {
      keep(await localToken(tokenUrl, user));
    },
    async signOut() {
      keep(undefined);
    },
    async accessToken() {
      if (held === undefined) return undefined;
      if (held.expiresAt - Date.now() < RENEW_BEFORE_MS) keep(await localToken(tokenUrl, held.user));
      return held.token;
    },
  };
}

/** The sign-in kept by this tab (a reload keeps it), or undefined. */
function restoreLocal() {
  try {
    const value = JSON.parse(sessionStorage.getItem(LOCAL_SESSION_KEY) ?? 'null');
    return typeof value?.token === 'string' ? value : undefined;
  } catch {
    return undefined; // unreadable: as if signed out
  }
}

/** Asks the local provider for a user's token: { user, token, expiresAt (ms since the epoch) }. */
async function localToken(tokenUrl, user) {
  let response;
  try {
    response = await fetch(tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user }),
    });
  } catch {
    throw new Error(`The local sign-in provider at ${new URL(tokenUrl).origin} did not answer. Is npm start running?`);
  }
  const body = await response.json().catch(() => undefined);
  if (!response.ok || typeof body?.access_token !== 'string') {
    throw new Error(body?.error?.message ?? `The local sign-in provider answered ${response.status}.`);
  }
  return { user, token: body.access_token, expiresAt: Date.now() + body.expires_in * 1000 };
}

/**
 * Microsoft Entra ID through MSAL (loaded only now: the page needs it only here). The popup returns to
 * redirect.html, MSAL v5's redirect bridge; MSAL keeps its cache in sessionStorage and renews tokens itself.
 */
async function msalSession({ clientId, authority, scopes }) {
  await loadScript('vendor/msal-browser.js');
  const client = new msal.PublicClientApplication({
    auth: { clientId, authority, redirectUri: new URL('redirect.html', location.href).href },
    cache: { cacheLocation: 'sessionStorage' },
  });
  await client.initialize();
  let account = client.getAllAccounts()[0];
  return {
    account: () => account?.username,
    async signIn() {
      account = (await client.loginPopup({ scopes })).account;
    },
    async signOut() {
      const signedIn = account;
      account = undefined;
      // Forgets the tokens in this tab only: signing out of Microsoft Entra ID everywhere is not the demo's call.
      if (signedIn) await client.clearCache({ account: signedIn });
    },
    async accessToken() {
      if (account === undefined) return undefined;
      try {
        return (await client.acquireTokenSilent({ scopes, account })).accessToken;
      } catch (error) {
        if (!(error instanceof msal.InteractionRequiredAuthError)) throw error;
        return (await client.acquireTokenPopup({ scopes, account })).accessToken;
      }
    },
  };
}

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = src;
    script.onload = resolve;
    script.onerror = () => reject(new Error(`Sign-in is unavailable: ${src} did not load.`));
    document.head.append(script);
  });
}
