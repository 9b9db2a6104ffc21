import type { ImportReport } from '../../../contract/import-report.ts'
import { ApiError } from '../../errors.ts'

/** A problem with the file as a whole, or a limit reached; `report` says what was committed before it. */
export class CsvImportError extends ApiError {
  constructor(
    statusCode: 400 | 408 | 413,
    message: string,
    readonly report?: ImportReport,
  ) {
    super(statusCode, message)
    this.name = 'CsvImportError'
  }
}
