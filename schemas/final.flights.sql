-- final.flights: the current state of each aircraft seen by opensky-poller (one row per icao24).
-- Column types follow the OpenSky state-vector fields (shared/docs/OPENSKY.md). The statement is
-- unqualified: the poller runs it in its --database (default `final`) when the table is missing
-- and --create-tables is given. Rows: inserted when an aircraft first appears, updated only when
-- a column changes, deleted when the aircraft has been absent for --stale-after.
CREATE TABLE IF NOT EXISTS flights (
  icao24          CHAR(6)          NOT NULL COMMENT 'ICAO 24-bit transponder address, lower-case hex',
  callsign        VARCHAR(8)       NULL     COMMENT 'trimmed; NULL when not received',
  origin_country  VARCHAR(64)      NOT NULL,
  time_position   BIGINT           NULL     COMMENT 'unix s of the last position update',
  last_contact    BIGINT           NOT NULL COMMENT 'unix s of the last message of any kind',
  longitude       DOUBLE           NULL     COMMENT 'WGS-84 degrees',
  latitude        DOUBLE           NULL     COMMENT 'WGS-84 degrees',
  baro_altitude   DOUBLE           NULL     COMMENT 'metres',
  on_ground       BOOLEAN          NOT NULL,
  velocity        DOUBLE           NULL     COMMENT 'm/s over ground',
  true_track      DOUBLE           NULL     COMMENT 'degrees clockwise from north',
  vertical_rate   DOUBLE           NULL     COMMENT 'm/s, positive = climbing',
  sensors         VARCHAR(1024)    NULL     COMMENT 'receiver serials as a JSON array',
  geo_altitude    DOUBLE           NULL     COMMENT 'metres',
  squawk          VARCHAR(8)       NULL,
  spi             BOOLEAN          NOT NULL COMMENT 'special purpose indicator',
  position_source TINYINT UNSIGNED NOT NULL COMMENT '0 ADS-B, 1 ASTERIX, 2 MLAT, 3 FLARM',
  category        TINYINT UNSIGNED NULL     COMMENT '0..20, only from extended responses',
  PRIMARY KEY (icao24)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
