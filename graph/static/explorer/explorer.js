// The Marquee explorer: GraphiQL against this API. A staff token may ride in the URL fragment
// (/graphql#token=mqs_…, as `make demo` prints it): it fills the Authorization header and is
// removed from the address bar at once; the fragment never reaches the server.
(function () {
  var fragment = new URLSearchParams(window.location.hash.slice(1));
  var token = fragment.get("token");
  var headers = token ? JSON.stringify({ Authorization: "Bearer " + token }, null, 2) : undefined;
  if (token) {
    history.replaceState(null, "", window.location.pathname + window.location.search);
  }
  var defaultQuery = [
    "# Welcome to Marquee. Send a staff token in the Headers tab:",
    '#   { "Authorization": "Bearer mqs_…" }',
    "{",
    "  viewer { kind role account { name } }",
    "}",
    "",
  ].join("\n");
  var root = ReactDOM.createRoot(document.getElementById("explorer"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: GraphiQL.createFetcher({ url: "/graphql" }),
      defaultQuery: defaultQuery,
      headers: headers,
      shouldPersistHeaders: !token,
      defaultEditorToolsVisibility: token ? "headers" : true,
    })
  );
})();
