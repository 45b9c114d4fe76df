-- final.flight_positions: append-only history of state vectors, one row per (icao24, last_contact).
-- opensky-poller inserts only keys not yet stored, so a repeated response adds nothing. The
-- statement is unqualified: the poller runs it in its --database (default `final`).
CREATE TABLE IF NOT EXISTS flight_positions (
  icao24          CHAR(6)          NOT NULL,
  last_contact    BIGINT           NOT NULL COMMENT 'unix s of the last message of any kind',
  time_position   BIGINT           NULL,
  longitude       DOUBLE           NULL,
  latitude        DOUBLE           NULL,
  baro_altitude   DOUBLE           NULL,
  geo_altitude    DOUBLE           NULL,
  on_ground       BOOLEAN          NOT NULL,
  velocity        DOUBLE           NULL,
  true_track      DOUBLE           NULL,
  vertical_rate   DOUBLE           NULL,
  squawk          VARCHAR(8)       NULL,
  position_source TINYINT UNSIGNED NOT NULL,
  PRIMARY KEY (icao24, last_contact)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
