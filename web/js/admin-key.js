// The Secretariat's admin key in this tab: kept in sessionStorage (until the tab closes,
// never in localStorage where a later user of the browser would find it), under one name,
// so that signing in on the organizer console or the dashboard signs in on both.

const KEY_STORE = 'igf.adminKey';

/** The admin key this tab signed in with, or null. */
export function storedAdminKey() {
  try {
    return window.sessionStorage.getItem(KEY_STORE);
  } catch {
    return null;
  }
}

/** Keep `value` as this tab's admin key (null: sign out). */
export function storeAdminKey(value) {
  try {
    if (value) window.sessionStorage.setItem(KEY_STORE, value);
    else window.sessionStorage.removeItem(KEY_STORE);
  } catch {
    /* no session storage: the key lasts until the page is closed */
  }
}
