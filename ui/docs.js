// Starts Swagger UI on this server's own /openapi.json; "Try it out" is on so each operation
// shows its Execute button at once, and requests go to the origin the page came from.
/* global SwaggerUIBundle */
window.ui = SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  tryItOutEnabled: true,
  displayRequestDuration: true,
  validatorUrl: null,
  persistAuthorization: false,
});
