/**
 * ISO 3166-1 alpha-2 countries and the vocabulary the natural-language search uses to recognise
 * them. Static data only: nothing here reads a file or the network, so importing it is free and
 * it can be used by the API, the importer and the CLI alike.
 *
 * Names: the 65 countries that occur in the seed are spelled exactly as the seed spells them
 * (contract §1: `country_name` is "the seed's spelling", e.g. CD → "DR Congo"); every other code
 * carries a common English short name (CLDR's, with "&" and "St." written out).
 */

import { createRequire } from 'node:module'
import type { Countries } from 'world-countries'

// The dataset is one CommonJS JSON module; require keeps it out of the type checker's inference.
const worldCountries = createRequire(import.meta.url)('world-countries') as Countries

export interface Country {
  /** ISO 3166-1 alpha-2, upper case */
  readonly id: string
  readonly name: string
}

/** All 249 officially assigned ISO 3166-1 alpha-2 codes, sorted by code. */
export const COUNTRIES: ReadonlyArray<Country> = [
  { id: 'AD', name: 'Andorra' },
  { id: 'AE', name: 'United Arab Emirates' },
  { id: 'AF', name: 'Afghanistan' },
  { id: 'AG', name: 'Antigua and Barbuda' },
  { id: 'AI', name: 'Anguilla' },
  { id: 'AL', name: 'Albania' },
  { id: 'AM', name: 'Armenia' },
  { id: 'AO', name: 'Angola' },
  { id: 'AQ', name: 'Antarctica' },
  { id: 'AR', name: 'Argentina' },
  { id: 'AS', name: 'American Samoa' },
  { id: 'AT', name: 'Austria' },
  { id: 'AU', name: 'Australia' },
  { id: 'AW', name: 'Aruba' },
  { id: 'AX', name: 'Åland Islands' },
  { id: 'AZ', name: 'Azerbaijan' },
  { id: 'BA', name: 'Bosnia and Herzegovina' },
  { id: 'BB', name: 'Barbados' },
  { id: 'BD', name: 'Bangladesh' },
  { id: 'BE', name: 'Belgium' },
  { id: 'BF', name: 'Burkina Faso' },
  { id: 'BG', name: 'Bulgaria' },
  { id: 'BH', name: 'Bahrain' },
  { id: 'BI', name: 'Burundi' },
  { id: 'BJ', name: 'Benin' },
  { id: 'BL', name: 'Saint Barthélemy' },
  { id: 'BM', name: 'Bermuda' },
  { id: 'BN', name: 'Brunei' },
  { id: 'BO', name: 'Bolivia' },
  { id: 'BQ', name: 'Caribbean Netherlands' },
  { id: 'BR', name: 'Brazil' },
  { id: 'BS', name: 'Bahamas' },
  { id: 'BT', name: 'Bhutan' },
  { id: 'BV', name: 'Bouvet Island' },
  { id: 'BW', name: 'Botswana' },
  { id: 'BY', name: 'Belarus' },
  { id: 'BZ', name: 'Belize' },
  { id: 'CA', name: 'Canada' },
  { id: 'CC', name: 'Cocos (Keeling) Islands' },
  { id: 'CD', name: 'DR Congo' },
  { id: 'CF', name: 'Central African Republic' },
  { id: 'CG', name: 'Republic of the Congo' },
  { id: 'CH', name: 'Switzerland' },
  { id: 'CI', name: "Côte d'Ivoire" },
  { id: 'CK', name: 'Cook Islands' },
  { id: 'CL', name: 'Chile' },
  { id: 'CM', name: 'Cameroon' },
  { id: 'CN', name: 'China' },
  { id: 'CO', name: 'Colombia' },
  { id: 'CR', name: 'Costa Rica' },
  { id: 'CU', name: 'Cuba' },
  { id: 'CV', name: 'Cape Verde' },
  { id: 'CW', name: 'Curaçao' },
  { id: 'CX', name: 'Christmas Island' },
  { id: 'CY', name: 'Cyprus' },
  { id: 'CZ', name: 'Czechia' },
  { id: 'DE', name: 'Germany' },
  { id: 'DJ', name: 'Djibouti' },
  { id: 'DK', name: 'Denmark' },
  { id: 'DM', name: 'Dominica' },
  { id: 'DO', name: 'Dominican Republic' },
  { id: 'DZ', name: 'Algeria' },
  { id: 'EC', name: 'Ecuador' },
  { id: 'EE', name: 'Estonia' },
  { id: 'EG', name: 'Egypt' },
  { id: 'EH', name: 'Western Sahara' },
  { id: 'ER', name: 'Eritrea' },
  { id: 'ES', name: 'Spain' },
  { id: 'ET', name: 'Ethiopia' },
  { id: 'FI', name: 'Finland' },
  { id: 'FJ', name: 'Fiji' },
  { id: 'FK', name: 'Falkland Islands' },
  { id: 'FM', name: 'Micronesia' },
  { id: 'FO', name: 'Faroe Islands' },
  { id: 'FR', name: 'France' },
  { id: 'GA', name: 'Gabon' },
  { id: 'GB', name: 'United Kingdom' },
  { id: 'GD', name: 'Grenada' },
  { id: 'GE', name: 'Georgia' },
  { id: 'GF', name: 'French Guiana' },
  { id: 'GG', name: 'Guernsey' },
  { id: 'GH', name: 'Ghana' },
  { id: 'GI', name: 'Gibraltar' },
  { id: 'GL', name: 'Greenland' },
  { id: 'GM', name: 'Gambia' },
  { id: 'GN', name: 'Guinea' },
  { id: 'GP', name: 'Guadeloupe' },
  { id: 'GQ', name: 'Equatorial Guinea' },
  { id: 'GR', name: 'Greece' },
  { id: 'GS', name: 'South Georgia and the South Sandwich Islands' },
  { id: 'GT', name: 'Guatemala' },
  { id: 'GU', name: 'Guam' },
  { id: 'GW', name: 'Guinea-Bissau' },
  { id: 'GY', name: 'Guyana' },
  { id: 'HK', name: 'Hong Kong' },
  { id: 'HM', name: 'Heard Island and McDonald Islands' },
  { id: 'HN', name: 'Honduras' },
  { id: 'HR', name: 'Croatia' },
  { id: 'HT', name: 'Haiti' },
  { id: 'HU', name: 'Hungary' },
  { id: 'ID', name: 'Indonesia' },
  { id: 'IE', name: 'Ireland' },
  { id: 'IL', name: 'Israel' },
  { id: 'IM', name: 'Isle of Man' },
  { id: 'IN', name: 'India' },
  { id: 'IO', name: 'British Indian Ocean Territory' },
  { id: 'IQ', name: 'Iraq' },
  { id: 'IR', name: 'Iran' },
  { id: 'IS', name: 'Iceland' },
  { id: 'IT', name: 'Italy' },
  { id: 'JE', name: 'Jersey' },
  { id: 'JM', name: 'Jamaica' },
  { id: 'JO', name: 'Jordan' },
  { id: 'JP', name: 'Japan' },
  { id: 'KE', name: 'Kenya' },
  { id: 'KG', name: 'Kyrgyzstan' },
  { id: 'KH', name: 'Cambodia' },
  { id: 'KI', name: 'Kiribati' },
  { id: 'KM', name: 'Comoros' },
  { id: 'KN', name: 'Saint Kitts and Nevis' },
  { id: 'KP', name: 'North Korea' },
  { id: 'KR', name: 'South Korea' },
  { id: 'KW', name: 'Kuwait' },
  { id: 'KY', name: 'Cayman Islands' },
  { id: 'KZ', name: 'Kazakhstan' },
  { id: 'LA', name: 'Laos' },
  { id: 'LB', name: 'Lebanon' },
  { id: 'LC', name: 'Saint Lucia' },
  { id: 'LI', name: 'Liechtenstein' },
  { id: 'LK', name: 'Sri Lanka' },
  { id: 'LR', name: 'Liberia' },
  { id: 'LS', name: 'Lesotho' },
  { id: 'LT', name: 'Lithuania' },
  { id: 'LU', name: 'Luxembourg' },
  { id: 'LV', name: 'Latvia' },
  { id: 'LY', name: 'Libya' },
  { id: 'MA', name: 'Morocco' },
  { id: 'MC', name: 'Monaco' },
  { id: 'MD', name: 'Moldova' },
  { id: 'ME', name: 'Montenegro' },
  { id: 'MF', name: 'Saint Martin' },
  { id: 'MG', name: 'Madagascar' },
  { id: 'MH', name: 'Marshall Islands' },
  { id: 'MK', name: 'North Macedonia' },
  { id: 'ML', name: 'Mali' },
  { id: 'MM', name: 'Myanmar' },
  { id: 'MN', name: 'Mongolia' },
  { id: 'MO', name: 'Macao' },
  { id: 'MP', name: 'Northern Mariana Islands' },
  { id: 'MQ', name: 'Martinique' },
  { id: 'MR', name: 'Mauritania' },
  { id: 'MS', name: 'Montserrat' },
  { id: 'MT', name: 'Malta' },
  { id: 'MU', name: 'Mauritius' },
  { id: 'MV', name: 'Maldives' },
  { id: 'MW', name: 'Malawi' },
  { id: 'MX', name: 'Mexico' },
  { id: 'MY', name: 'Malaysia' },
  { id: 'MZ', name: 'Mozambique' },
  { id: 'NA', name: 'Namibia' },
  { id: 'NC', name: 'New Caledonia' },
  { id: 'NE', name: 'Niger' },
  { id: 'NF', name: 'Norfolk Island' },
  { id: 'NG', name: 'Nigeria' },
  { id: 'NI', name: 'Nicaragua' },
  { id: 'NL', name: 'Netherlands' },
  { id: 'NO', name: 'Norway' },
  { id: 'NP', name: 'Nepal' },
  { id: 'NR', name: 'Nauru' },
  { id: 'NU', name: 'Niue' },
  { id: 'NZ', name: 'New Zealand' },
  { id: 'OM', name: 'Oman' },
  { id: 'PA', name: 'Panama' },
  { id: 'PE', name: 'Peru' },
  { id: 'PF', name: 'French Polynesia' },
  { id: 'PG', name: 'Papua New Guinea' },
  { id: 'PH', name: 'Philippines' },
  { id: 'PK', name: 'Pakistan' },
  { id: 'PL', name: 'Poland' },
  { id: 'PM', name: 'Saint Pierre and Miquelon' },
  { id: 'PN', name: 'Pitcairn Islands' },
  { id: 'PR', name: 'Puerto Rico' },
  { id: 'PS', name: 'Palestine' },
  { id: 'PT', name: 'Portugal' },
  { id: 'PW', name: 'Palau' },
  { id: 'PY', name: 'Paraguay' },
  { id: 'QA', name: 'Qatar' },
  { id: 'RE', name: 'Réunion' },
  { id: 'RO', name: 'Romania' },
  { id: 'RS', name: 'Serbia' },
  { id: 'RU', name: 'Russia' },
  { id: 'RW', name: 'Rwanda' },
  { id: 'SA', name: 'Saudi Arabia' },
  { id: 'SB', name: 'Solomon Islands' },
  { id: 'SC', name: 'Seychelles' },
  { id: 'SD', name: 'Sudan' },
  { id: 'SE', name: 'Sweden' },
  { id: 'SG', name: 'Singapore' },
  { id: 'SH', name: 'Saint Helena' },
  { id: 'SI', name: 'Slovenia' },
  { id: 'SJ', name: 'Svalbard and Jan Mayen' },
  { id: 'SK', name: 'Slovakia' },
  { id: 'SL', name: 'Sierra Leone' },
  { id: 'SM', name: 'San Marino' },
  { id: 'SN', name: 'Senegal' },
  { id: 'SO', name: 'Somalia' },
  { id: 'SR', name: 'Suriname' },
  { id: 'SS', name: 'South Sudan' },
  { id: 'ST', name: 'São Tomé and Príncipe' },
  { id: 'SV', name: 'El Salvador' },
  { id: 'SX', name: 'Sint Maarten' },
  { id: 'SY', name: 'Syria' },
  { id: 'SZ', name: 'Eswatini' },
  { id: 'TC', name: 'Turks and Caicos Islands' },
  { id: 'TD', name: 'Chad' },
  { id: 'TF', name: 'French Southern Territories' },
  { id: 'TG', name: 'Togo' },
  { id: 'TH', name: 'Thailand' },
  { id: 'TJ', name: 'Tajikistan' },
  { id: 'TK', name: 'Tokelau' },
  { id: 'TL', name: 'Timor-Leste' },
  { id: 'TM', name: 'Turkmenistan' },
  { id: 'TN', name: 'Tunisia' },
  { id: 'TO', name: 'Tonga' },
  { id: 'TR', name: 'Türkiye' },
  { id: 'TT', name: 'Trinidad and Tobago' },
  { id: 'TV', name: 'Tuvalu' },
  { id: 'TW', name: 'Taiwan' },
  { id: 'TZ', name: 'Tanzania' },
  { id: 'UA', name: 'Ukraine' },
  { id: 'UG', name: 'Uganda' },
  { id: 'UM', name: 'United States Minor Outlying Islands' },
  { id: 'US', name: 'United States' },
  { id: 'UY', name: 'Uruguay' },
  { id: 'UZ', name: 'Uzbekistan' },
  { id: 'VA', name: 'Vatican City' },
  { id: 'VC', name: 'Saint Vincent and the Grenadines' },
  { id: 'VE', name: 'Venezuela' },
  { id: 'VG', name: 'British Virgin Islands' },
  { id: 'VI', name: 'United States Virgin Islands' },
  { id: 'VN', name: 'Vietnam' },
  { id: 'VU', name: 'Vanuatu' },
  { id: 'WF', name: 'Wallis and Futuna' },
  { id: 'WS', name: 'Samoa' },
  { id: 'YE', name: 'Yemen' },
  { id: 'YT', name: 'Mayotte' },
  { id: 'ZA', name: 'South Africa' },
  { id: 'ZM', name: 'Zambia' },
  { id: 'ZW', name: 'Zimbabwe' },
]

const NAME_BY_ID: ReadonlyMap<string, string> = new Map(COUNTRIES.map((c) => [c.id, c.name]))

/** True for an assigned alpha-2 code written in upper case ("NG"); "ng" and "XX" are false. */
export function isKnownCountryId(id: string): boolean {
  return NAME_BY_ID.has(id)
}

/** The display name for an upper-case alpha-2 code, or undefined for an unknown code. */
export function countryNameOf(id: string): string | undefined {
  return NAME_BY_ID.get(id)
}

/**
 * Folds free text into the word form the natural-language parser matches on: lower case,
 * diacritics removed ("Côte" → "cote"), apostrophes dropped so "d'Ivoire" stays one word
 * ("divoire"), every other non-alphanumeric character a word break ("Guinea-Bissau" →
 * "guinea bissau"), single spaces. The parser tokenises queries by the same rules, so a phrase
 * produced here matches the same words typed in a query.
 */
export function foldPhrase(text: string): string {
  return text
    .toLowerCase()
    .normalize('NFD')
    .replace(/\p{M}+/gu, '')
    .replace(/['\u2018\u2019\u02bc`]/g, '')
    .replace(/[^a-z0-9]+/g, ' ')
    .trim()
}

/**
 * Other names people use for a country, already in folded form. Bare "congo" is ambiguous
 * between CD and CG; it is read as CG because ISO 3166's short name "Congo" is CG's (CD is
 * "Congo, The Democratic Republic of the"). DR Congo is reached through "dr congo", "drc",
 * "democratic republic of (the) congo", "congo kinshasa" or "zaire".
 */
const ALIASES: Readonly<Record<string, readonly string[]>> = {
  AE: ['uae', 'emirates'],
  AG: ['antigua'],
  BA: ['bosnia'],
  BF: ['burkina'],
  CC: ['cocos islands'],
  CD: ['drc', 'democratic republic of the congo', 'democratic republic of congo', 'congo kinshasa', 'zaire'],
  CG: ['congo', 'republic of congo', 'congo brazzaville'],
  CI: ['ivory coast', 'cote d ivoire'],
  CN: ['prc', 'peoples republic of china', 'mainland china'],
  CV: ['cabo verde'],
  CZ: ['czech republic'],
  FM: ['federated states of micronesia'],
  GB: [
    'uk',
    'u k',
    'britain',
    'great britain',
    'england',
    'scotland',
    'wales',
    'northern ireland',
    'united kingdom of great britain and northern ireland',
  ],
  GM: ['the gambia'],
  KN: ['saint kitts', 'st kitts'],
  KP: ['dprk'],
  KR: ['korea', 'republic of korea'],
  LA: ['lao pdr'],
  MK: ['macedonia'],
  MM: ['burma'],
  MO: ['macau'],
  NL: ['holland', 'the netherlands'],
  PS: ['palestinian territories'],
  RU: ['russian federation'],
  ST: ['sao tome', 'sao tome principe'],
  SZ: ['swaziland', 'kingdom of eswatini'],
  TL: ['east timor'],
  TR: ['turkey'],
  TT: ['trinidad'],
  TZ: ['united republic of tanzania'],
  US: ['usa', 'us', 'u s', 'u s a', 'america', 'united states of america'],
  VA: ['vatican', 'holy see'],
  VC: ['saint vincent', 'st vincent'],
  VI: ['us virgin islands'],
  ZA: ['rsa'],
}

/**
 * Demonyms (singular, folded); a plural is derived by `pluralOf`. Ambiguous ones are pinned:
 * "congolese" → CG (consistent with bare "congo"; "dr congolese" → CD), "dominican" → DO
 * (not Dominica), "korean" → KR, "samoan" → WS ("american samoan" → AS), "english",
 * "scottish" and "welsh" → GB.
 * Longest match keeps "guinean" (GN) apart from "equatorial guinean" (GQ), "bissau guinean" (GW)
 * and "papua new guinean" (PG), and "sudanese" (SD) from "south sudanese" (SS).
 */
const DEMONYMS: Readonly<Record<string, readonly string[]>> = {
  // the 65 seed countries
  AO: ['angolan'],
  AU: ['australian', 'aussie'],
  BF: ['burkinabe'],
  BI: ['burundian'],
  BJ: ['beninese'],
  BR: ['brazilian'],
  BW: ['motswana', 'batswana', 'botswanan'],
  CA: ['canadian'],
  CD: ['dr congolese'],
  CF: ['central african'],
  CG: ['congolese'],
  CI: ['ivorian'],
  CM: ['cameroonian'],
  CN: ['chinese'],
  CV: ['cape verdean', 'cabo verdean'],
  DE: ['german'],
  DJ: ['djiboutian'],
  DZ: ['algerian'],
  EG: ['egyptian'],
  EH: ['sahrawi', 'western saharan'],
  ER: ['eritrean'],
  ET: ['ethiopian'],
  FR: ['french'],
  GA: ['gabonese'],
  GB: ['british', 'brit', 'briton', 'english', 'scottish', 'scot', 'welsh'],
  GH: ['ghanaian'],
  GM: ['gambian'],
  GN: ['guinean'],
  GQ: ['equatorial guinean', 'equatoguinean'],
  GW: ['bissau guinean'],
  IN: ['indian'],
  JP: ['japanese'],
  KE: ['kenyan'],
  KM: ['comorian', 'comoran'],
  LR: ['liberian'],
  LS: ['basotho', 'mosotho'],
  LY: ['libyan'],
  MA: ['moroccan'],
  MG: ['malagasy', 'madagascan'],
  ML: ['malian'],
  MR: ['mauritanian'],
  MU: ['mauritian'],
  MW: ['malawian'],
  MZ: ['mozambican'],
  NA: ['namibian'],
  NE: ['nigerien'],
  NG: ['nigerian'],
  RW: ['rwandan', 'rwandese'],
  SC: ['seychellois'],
  SD: ['sudanese'],
  SL: ['sierra leonean'],
  SN: ['senegalese'],
  SO: ['somali', 'somalian'],
  SS: ['south sudanese'],
  ST: ['sao tomean', 'santomean'],
  SZ: ['swazi', 'emaswati'],
  TD: ['chadian'],
  TG: ['togolese'],
  TN: ['tunisian'],
  TZ: ['tanzanian'],
  UG: ['ugandan'],
  US: ['american'],
  ZA: ['south african'],
  ZM: ['zambian'],
  ZW: ['zimbabwean'],
  // a selection of other countries
  AF: ['afghan'],
  AL: ['albanian'],
  AR: ['argentine', 'argentinian'],
  AS: ['american samoan'],
  AT: ['austrian'],
  BD: ['bangladeshi'],
  BE: ['belgian'],
  BO: ['bolivian'],
  CH: ['swiss'],
  CL: ['chilean'],
  CO: ['colombian'],
  CU: ['cuban'],
  CZ: ['czech'],
  DK: ['danish', 'dane'],
  DO: ['dominican'],
  EC: ['ecuadorian'],
  ES: ['spanish', 'spaniard'],
  FI: ['finnish'],
  GR: ['greek'],
  HT: ['haitian'],
  HU: ['hungarian'],
  ID: ['indonesian'],
  IE: ['irish'],
  IL: ['israeli'],
  IQ: ['iraqi'],
  IR: ['iranian'],
  IT: ['italian'],
  JM: ['jamaican'],
  KP: ['north korean'],
  KR: ['korean', 'south korean'],
  LB: ['lebanese'],
  MX: ['mexican'],
  MY: ['malaysian'],
  NL: ['dutch'],
  NO: ['norwegian'],
  NP: ['nepali', 'nepalese'],
  NZ: ['new zealander'],
  PE: ['peruvian'],
  PG: ['papua new guinean'],
  PH: ['filipino'],
  PK: ['pakistani'],
  PL: ['polish'],
  PS: ['palestinian'],
  PT: ['portuguese'],
  RO: ['romanian'],
  RU: ['russian'],
  SA: ['saudi'],
  SE: ['swedish'],
  SG: ['singaporean'],
  SY: ['syrian'],
  TH: ['thai'],
  TR: ['turkish'],
  UA: ['ukrainian'],
  VE: ['venezuelan'],
  VN: ['vietnamese'],
  WS: ['samoan'],
  YE: ['yemeni'],
}

/** Demonyms that are their own plural (or whose plural is a different word listed separately). */
const INVARIANT_DEMONYMS: ReadonlySet<string> = new Set([
  'basotho',
  'mosotho',
  'batswana',
  'motswana',
  'emaswati',
])

/** "nigerian" → "nigerians", "somali" → "somalis"; "chinese", "british", "swiss", "malagasy" stay. */
function pluralOf(demonym: string): string | undefined {
  if (INVARIANT_DEMONYMS.has(demonym)) return undefined
  if (/(?:s|sh|ch|ese|y)$/.test(demonym)) return undefined
  return `${demonym}s`
}

export type CountryPhraseKind = 'name' | 'alias' | 'demonym' | 'other-language'

export interface CountryPhrase {
  /** folded form (see foldPhrase): lower case, no diacritics, no punctuation, single spaces */
  readonly phrase: string
  readonly countryId: string
  readonly kind: CountryPhraseKind
  /**
   * Set when the phrase is also an everyday English word ("us"): the parser then ignores it in
   * the pronoun position ("show us women in kenya" is Kenya, not the United States).
   */
  readonly alsoCommonWord?: true
}

const COMMON_WORDS: ReadonlySet<string> = new Set(['us'])

/**
 * Other-language names of the dataset that are also English words ("suède" folds to "suede").
 * The test of every phrase parsing to exactly its country finds any that collide with the
 * parser's own vocabulary.
 */
const DATASET_STOP_PHRASES: ReadonlySet<string> = new Set(['suede'])

/** "saint lucia" is also written "st lucia". */
function nameVariants(name: string): string[] {
  const folded = foldPhrase(name)
  return folded.startsWith('saint ') ? [folded, `st ${folded.slice('saint '.length)}`] : [folded]
}

/**
 * A dataset phrase the tokenizer can match (Latin letters, digits and spaces) and long enough not
 * to be a stray word: four letters at least ("sad" is the United States in Croatian).
 */
function isUsableDatasetPhrase(phrase: string): boolean {
  return /^[a-z0-9 ]+$/.test(phrase) && phrase.replace(/ /g, '').length >= 4 && !DATASET_STOP_PHRASES.has(phrase)
}

/**
 * Names, other spellings, demonyms and other-language names from the world-countries dataset
 * (mledoze/countries, ODbL-1.0: docs/search.md credits it), by tier: English names and other
 * spellings, then English and French demonyms, then names in the dataset's other languages (the
 * translations and the native names). A phrase two countries claim in the same tier is dropped as
 * ambiguous; an earlier tier, or this file's own names, aliases and demonyms, always win.
 */
function datasetPhrases(): { phrase: string; countryId: string; kind: CountryPhraseKind }[][] {
  const names: { phrase: string; countryId: string; kind: CountryPhraseKind }[] = []
  const demonyms: { phrase: string; countryId: string; kind: CountryPhraseKind }[] = []
  const others: { phrase: string; countryId: string; kind: CountryPhraseKind }[] = []
  for (const country of worldCountries) {
    const countryId = country.cca2
    if (!NAME_BY_ID.has(countryId)) continue
    const push = (list: typeof names, text: string, kind: CountryPhraseKind) => {
      for (const phrase of nameVariants(text)) if (isUsableDatasetPhrase(phrase)) list.push({ phrase, countryId, kind })
    }
    push(names, country.name.common, 'name')
    push(names, country.name.official, 'name')
    for (const spelling of country.altSpellings) push(names, spelling, 'alias')
    for (const [language, demonym] of Object.entries(country.demonyms ?? {})) {
      for (const form of new Set([demonym.m, demonym.f])) {
        push(demonyms, form, 'demonym')
        const plural = language === 'eng' ? pluralOf(foldPhrase(form)) : undefined
        if (plural !== undefined) push(demonyms, plural, 'demonym')
      }
    }
    for (const translation of Object.values(country.translations)) {
      push(others, translation.common, 'other-language')
      push(others, translation.official, 'other-language')
    }
    for (const native of Object.values(country.name.native ?? {})) {
      push(others, native.common, 'other-language')
      push(others, native.official, 'other-language')
    }
  }
  return [names, demonyms, others]
}

function buildPhrases(): CountryPhrase[] {
  const out: CountryPhrase[] = []
  const claimed = new Map<string, string>()
  const add = (phrase: string, countryId: string, kind: CountryPhraseKind): void => {
    if (claimed.has(phrase)) return
    claimed.set(phrase, countryId)
    const entry: CountryPhrase = { phrase, countryId, kind }
    out.push(COMMON_WORDS.has(phrase) ? { ...entry, alsoCommonWord: true } : entry)
  }
  for (const { id, name } of COUNTRIES) for (const phrase of nameVariants(name)) add(phrase, id, 'name')
  for (const [id, aliases] of Object.entries(ALIASES)) for (const phrase of aliases) add(phrase, id, 'alias')
  for (const [id, demonyms] of Object.entries(DEMONYMS)) {
    for (const demonym of demonyms) {
      add(demonym, id, 'demonym')
      const plural = pluralOf(demonym)
      if (plural !== undefined) add(plural, id, 'demonym')
    }
  }
  for (const tier of datasetPhrases()) {
    const owners = new Map<string, Set<string>>()
    for (const { phrase, countryId } of tier) {
      if (claimed.has(phrase)) continue
      const set = owners.get(phrase) ?? new Set<string>()
      set.add(countryId)
      owners.set(phrase, set)
    }
    for (const { phrase, countryId, kind } of tier) {
      if (owners.get(phrase)?.size === 1) add(phrase, countryId, kind)
    }
  }
  return out
}

/**
 * Every phrase that names a country: its name (folded), aliases and demonyms with plurals. Each
 * phrase maps to exactly one country (checked by the tests); the parser prefers the longest
 * phrase at a position, so "niger" never matches inside "nigeria" or "guinea" inside
 * "equatorial guinea".
 */
export const COUNTRY_PHRASES: ReadonlyArray<CountryPhrase> = buildPhrases()

/**
 * Phrases that contain a country phrase but name no single country ("south america" is not the
 * United States, "new guinea" is an island shared by PG and Indonesia). The parser consumes them
 * whole, so they yield no country filter instead of a wrong one.
 */
export const NON_COUNTRY_PHRASES: ReadonlyArray<string> = [
  'north america',
  'south america',
  'central america',
  'latin america',
  'north american',
  'south american',
  'central american',
  'latin american',
  'african american',
  'native american',
  'asian american',
  'north americans',
  'south americans',
  'central americans',
  'latin americans',
  'african americans',
  'native americans',
  'asian americans',
  'new guinea',
]
