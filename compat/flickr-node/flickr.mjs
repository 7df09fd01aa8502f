// Runs the unmodified flickr-sdk (v7) against `tether sim flickr --auto-approve`.
//
// The SDK builds Flickr's production URLs into every call (https://api.flickr.com/services/rest,
// https://up.flickr.com/services/upload, https://www.flickr.com/services/oauth/...) and signs
// them before its transport sends anything. Its public extension point, the transport given to
// createFlickr, is the only thing replaced here: a FetchTransport whose fetch sends each request
// to the simulator's host instead. The signature therefore stays the SDK's own, over Flickr's URL.
//
// Environment: FLICKR_SIM_URL (e.g. http://127.0.0.1:8803, loopback only), FLICKR_CONSUMER_KEY
// and FLICKR_CONSUMER_SECRET. On success prints one JSON line with the tokens it got (secrets
// included, so a test can recompute the signatures) and what it made, and exits 0; on any
// failure prints the step and the reason to stderr and exits 1.

import http from "node:http";

let createFlickr;
let FetchTransport;
try {
  ({ createFlickr, FetchTransport } = await import("flickr-sdk"));
} catch (error) {
  console.error(
    `flickr-sdk compat failed: ${error.message}: run \`npm ci --prefix compat/flickr-node\``,
  );
  process.exit(2);
}

const FLICKR_HOSTS = new Set(["api.flickr.com", "up.flickr.com", "www.flickr.com"]);

function env(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`flickr-sdk compat failed: the environment variable ${name} is not set`);
    process.exit(1);
  }
  return value;
}

const base = new URL(env("FLICKR_SIM_URL"));
if (base.hostname !== "127.0.0.1") {
  console.error(`flickr-sdk compat failed: FLICKR_SIM_URL must be on 127.0.0.1, not ${base.hostname}`);
  process.exit(1);
}
const consumerKey = env("FLICKR_CONSUMER_KEY");
const consumerSecret = env("FLICKR_CONSUMER_SECRET");

/** Flickr's URL with the simulator's scheme, host and port; anything else is refused. */
function toSimulator(url) {
  const target = new URL(url);
  if (target.protocol !== "https:" || !FLICKR_HOSTS.has(target.hostname)) {
    throw new Error(`the SDK called ${url}, which is not one of Flickr's hosts`);
  }
  target.protocol = base.protocol;
  target.host = base.host;
  return target.href;
}

/** The SDK's own transport, sending to the simulator; what it sends is left untouched. */
class SimulatorTransport extends FetchTransport {
  fetch(url, init) {
    return super.fetch(toSimulator(url), init);
  }
}
const transport = new SimulatorTransport();

/** A loopback server standing in for the app's OAuth callback page. */
function callbackServer() {
  return new Promise((resolve, reject) => {
    let deliver;
    const arrived = new Promise((done) => {
      deliver = done;
    });
    const server = http.createServer((req, res) => {
      const query = new URL(req.url, "http://127.0.0.1").searchParams;
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("You can close this window.\n");
      deliver(query);
    });
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      resolve({ url: `http://127.0.0.1:${port}/flickr-callback`, arrived, server });
    });
  });
}

let step = "start";
function check(condition, message) {
  if (!condition) {
    throw new Error(message);
  }
}

async function main() {
  // OAuth 1.0a with the SDK's helper: request token, the user's visit, access token.
  step = "oauth.request";
  const callback = await callbackServer();
  const app = createFlickr(
    { consumerKey, consumerSecret, oauthToken: false, oauthTokenSecret: false },
    transport,
  );
  const { requestToken, requestTokenSecret } = await app.oauth.request(callback.url);
  check(requestToken && requestTokenSecret, "no request token in the answer");

  step = "oauth.authorize";
  // The browser's visit: the page approves at once (--auto-approve) and redirects to the
  // callback, which fetch follows like a browser would.
  const authorizeUrl = app.oauth.authorizeUrl(requestToken, "write");
  const visit = await fetch(toSimulator(authorizeUrl), { redirect: "follow" });
  check(visit.ok, `the authorize page answered ${visit.status}`);
  check(
    visit.url.startsWith(callback.url),
    `the authorize page did not redirect to the callback but answered ${visit.url} ` +
      "(is the simulator running with --auto-approve?)",
  );
  const query = await callback.arrived;
  callback.server.close();
  callback.server.closeAllConnections();
  check(query.get("oauth_token") === requestToken, "the callback names another token");
  const verifier = query.get("oauth_verifier");
  check(verifier, "the callback carries no oauth_verifier");

  step = "oauth.verify";
  const exchange = createFlickr(
    {
      consumerKey,
      consumerSecret,
      oauthToken: requestToken,
      oauthTokenSecret: requestTokenSecret,
    },
    transport,
  );
  const access = await exchange.oauth.verify(verifier);
  check(access.nsid && access.oauthToken && access.oauthTokenSecret, "incomplete access token");

  const { flickr, upload } = createFlickr(
    {
      consumerKey,
      consumerSecret,
      oauthToken: access.oauthToken,
      oauthTokenSecret: access.oauthTokenSecret,
    },
    transport,
  );

  step = "flickr.test.login";
  const login = await flickr("flickr.test.login", {});
  check(login.user.id === access.nsid, `logged in as ${login.user.id}, not ${access.nsid}`);

  step = "flickr.people.getInfo";
  const info = await flickr("flickr.people.getInfo", { user_id: access.nsid });
  check(info.person.nsid === access.nsid, `getInfo answered ${info.person.nsid}`);

  step = "flickr.photos.search";
  const search = await flickr("flickr.photos.search", { user_id: "me", per_page: "5" });
  check(Number(search.photos.total) > 0, "the user's own search found no photo");

  step = "upload";
  const photo = new File([Buffer.from("compat photo bytes")], "compat.jpg", { type: "image/jpeg" });
  const uploaded = await upload(photo, { title: "Uploaded by flickr-sdk", tags: "compat" });
  check(uploaded.id, "the upload answered no photo id");

  step = "flickr.photos.addTags";
  await flickr("flickr.photos.addTags", { photo_id: uploaded.id, tags: 'sdk "two words"' });
  const photoInfo = await flickr("flickr.photos.getInfo", { photo_id: uploaded.id });
  const tags = photoInfo.photo.tags.tag.map((tag) => tag._content);
  check(
    ["compat", "sdk", "twowords"].every((tag) => tags.includes(tag)),
    `the photo's tags are ${tags.join(", ")}`,
  );

  step = "flickr.photosets.create";
  const created = await flickr("flickr.photosets.create", {
    title: "Made by flickr-sdk",
    primary_photo_id: uploaded.id,
  });
  check(created.photoset.id, "photosets.create answered no id");

  console.log(
    JSON.stringify({
      request_token: requestToken,
      request_token_secret: requestTokenSecret,
      access_token: access.oauthToken,
      access_token_secret: access.oauthTokenSecret,
      user_nsid: access.nsid,
      photo_id: uploaded.id,
      photoset_id: created.photoset.id,
      searched: Number(search.photos.total),
    }),
  );
}

try {
  await main();
  process.exit(0);
} catch (error) {
  let cause = "";
  if (error.cause instanceof Response) {
    const body = await error.cause.text().catch(() => "");
    cause = ` (HTTP ${error.cause.status}: ${body.slice(0, 400)})`;
  } else if (error.cause && error.cause.code !== undefined) {
    cause = ` (Flickr error ${error.cause.code})`;
  }
  console.error(`flickr-sdk compat failed at ${step}: ${error.message}${cause}`);
  process.exit(1);
}
