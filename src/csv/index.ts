/**
 * CSV on its own, for applications that keep contacts or reports outside the engine: contact import
 * (the parser and checks `outreach.importContacts` uses) and the campaign and message exports
 * (what `outreach.exportCampaigns` and `outreach.exportMessages` write).
 * @module campaign-lifecycle/csv
 */

export type {
  AddressCheck,
  AddressRejection,
  CsvImportOptions,
  CsvImportResult,
  CsvSource,
  ImportedContact,
  RejectedRow,
  RejectionCode,
} from '../contacts/csv-import.js';
export { importContactsCsv, MAX_REPORTED_REJECTIONS } from '../contacts/csv-import.js';
export type { CampaignExportRow } from '../export/campaigns-csv.js';
export { CAMPAIGN_CSV_COLUMNS, campaignsCsv } from '../export/campaigns-csv.js';
export type { CsvCell, CsvExportOptions, RowSource } from '../export/csv-stream.js';
export type { MessageExportRow, MessagesCsvOptions } from '../export/messages-csv.js';
export { messagesCsv } from '../export/messages-csv.js';
export { neutralizeCell } from '../export/neutralize-cell.js';
