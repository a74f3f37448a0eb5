// Passkeys (WebAuthn) on the security page and the security-code page. Progressive
// enhancement: the passkey forms are hidden in the HTML and shown here only when the browser
// can use passkeys; the authenticator-app code works without this file.
//
// The options come from the server (py_webauthn's options_to_json) in a data attribute, with
// binary values as base64url; the browser API wants ArrayBuffers, and we post its answer back
// as JSON with base64url again. Hand-written because it is these few lines, and the browser's
// own PublicKeyCredential.parseCreationOptionsFromJSON / toJSON are not in every browser yet.

const toBuffer = (value) => {
  const base64 = value.replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(base64 + "===".slice((base64.length + 3) % 4));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0)).buffer;
};

const toBase64url = (buffer) => {
  let binary = "";
  for (const byte of new Uint8Array(buffer)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
};

const descriptors = (list) => (list || []).map((c) => ({ ...c, id: toBuffer(c.id) }));

const showError = (container, text) => {
  const error = container.querySelector("[data-passkey-error]");
  error.textContent = text;
  error.hidden = false;
};

const registrationJSON = (credential) => ({
  id: credential.id,
  rawId: toBase64url(credential.rawId),
  type: credential.type,
  response: {
    clientDataJSON: toBase64url(credential.response.clientDataJSON),
    attestationObject: toBase64url(credential.response.attestationObject),
    transports: credential.response.getTransports ? credential.response.getTransports() : [],
  },
  clientExtensionResults: credential.getClientExtensionResults(),
  authenticatorAttachment: credential.authenticatorAttachment || undefined,
});

const authenticationJSON = (credential) => ({
  id: credential.id,
  rawId: toBase64url(credential.rawId),
  type: credential.type,
  response: {
    clientDataJSON: toBase64url(credential.response.clientDataJSON),
    authenticatorData: toBase64url(credential.response.authenticatorData),
    signature: toBase64url(credential.response.signature),
    userHandle: credential.response.userHandle
      ? toBase64url(credential.response.userHandle)
      : undefined,
  },
  clientExtensionResults: credential.getClientExtensionResults(),
  authenticatorAttachment: credential.authenticatorAttachment || undefined,
});

const register = (form) => {
  const options = JSON.parse(form.dataset.options);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const credential = await navigator.credentials.create({
        publicKey: {
          ...options,
          challenge: toBuffer(options.challenge),
          user: { ...options.user, id: toBuffer(options.user.id) },
          excludeCredentials: descriptors(options.excludeCredentials),
        },
      });
      form.elements.credential.value = JSON.stringify(registrationJSON(credential));
      form.submit();
    } catch {
      showError(form, "No passkey was added. Try again, or keep using your authenticator app.");
    }
  });
};

const signIn = (container) => {
  const options = JSON.parse(container.dataset.options);
  const form = container.querySelector("form");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const credential = await navigator.credentials.get({
        publicKey: {
          ...options,
          challenge: toBuffer(options.challenge),
          allowCredentials: descriptors(options.allowCredentials),
        },
      });
      form.elements.credential.value = JSON.stringify(authenticationJSON(credential));
      form.submit();
    } catch {
      showError(container, "Your passkey was not used. Try again, or enter the security code.");
    }
  });
};

if (window.PublicKeyCredential && navigator.credentials) {
  for (const form of document.querySelectorAll("[data-passkey-register]")) {
    register(form);
    form.hidden = false;
  }
  for (const note of document.querySelectorAll("[data-passkey-unsupported]")) note.hidden = true;
  for (const container of document.querySelectorAll("[data-passkey-sign-in]")) {
    signIn(container);
    container.hidden = false;
  }
}
