import { Type, type Static } from 'typebox'

/** `GET /api/profiles/stats`: counts for dashboards, for the same filters as the list. */
export const StatsSchema = Type.Object({
  status: Type.Literal('success'),
  data: Type.Object({
    total: Type.Integer(),
    by_gender: Type.Object({ male: Type.Integer(), female: Type.Integer() }),
    by_age_group: Type.Object({
      child: Type.Integer(),
      teenager: Type.Integer(),
      adult: Type.Integer(),
      senior: Type.Integer(),
    }),
    by_country: Type.Array(Type.Object({ country_id: Type.String(), country_name: Type.String(), count: Type.Integer() })),
    age_histogram: Type.Array(
      Type.Object({ from: Type.Integer(), to: Type.Integer(), count: Type.Integer() }, { description: 'inclusive 10-year bands' }),
    ),
  }),
})
export type StatsBody = Static<typeof StatsSchema>
