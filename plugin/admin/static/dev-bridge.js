/* Demo only (served when the signed dev login is active): stands in for App Bridge outside the
   Shopify admin. Session tokens come from /dev/session-token, minted like Shopify's. */
window.shopify = {
  idToken: () => fetch("/dev/session-token", {credentials: "same-origin"}).then((r) => {
    if (!r.ok) throw new Error("dev login expired: open the login link again");
    return r.text();
  }),
  config: {locale: document.documentElement.lang},
};
