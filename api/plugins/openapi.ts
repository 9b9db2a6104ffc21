import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

/** The OpenAPI document is generated from the route schemas; /docs serves it and a browsable UI. */
export default fp(async function openapi(app: FastifyInstance) {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Insighta Labs+ API',
        version: '1',
        description: 'Every /api/profiles* request needs the header `X-API-Version: 1`. Errors use `{"status":"error","message":…}`.',
      },
      components: {
        securitySchemes: {
          bearer: {
            type: 'http',
            scheme: 'bearer',
            description: 'A JWT access token from /auth/token or /auth/refresh, or a personal access token (insighta_pat_…)',
          },
        },
      },
    },
  })
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true })
})
