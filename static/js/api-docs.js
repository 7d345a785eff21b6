// The API page (/api/docs): Swagger UI (static/vendor/swagger-ui) draws the OpenAPI document the
// app generates; the document's URL is in the page, so no inline script is needed (CSP).
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({
    url: root.getAttribute("data-openapi"),
    domNode: root,
    deepLinking: true,
    validatorUrl: null, // never send the document to validator.swagger.io
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
})();
