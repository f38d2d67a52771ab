"""PostGIS stand-in: its types with their type modifiers, its common functions, casts and
operators, for an analyzer server that lacks PostGIS.

A schema with ``geometry(Point, 4326)`` columns needs a type that accepts type modifiers
as PostGIS reads them, and queries need PostGIS's functions with their exact signatures
to type as they would on a server that has it. This module says what to create; it runs
through :func:`standins.standin_sql`, in the schema ``CREATE EXTENSION`` would use:

- ``geometry``, ``geography``, ``box2d``, ``box3d`` and ``spheroid`` as base types over
  PostgreSQL's own text I/O functions (values are kept as written; creating a base type
  needs a superuser, as PostGIS does). ``geometry`` and ``geography`` take a PL/pgSQL
  ``typmod_in`` that reads the modifiers as PostGIS does — the geometry type name
  (ASCII letters in any case, spaces around it ignored, a ``Z``, ``M`` or ``ZM`` suffix),
  then the SRID as an integer, further ones ignored — and encodes them as PostGIS does
  (SRID << 8, type << 2, Z and M flags), refusing what PostGIS refuses. A ``typmod_out``
  can only be written in C, so ``format_type`` shows that number.
- the functions of :data:`FUNCTIONS`, with PostGIS's argument and result types (from its
  SQL definitions; defaults too long to matter shortened to ``NULL``). Every overload of
  a name is there, so a call resolves as it would with PostGIS. They return NULL: the
  analyzer only prepares queries, and a C function's result is nullable too. A function
  not listed is typed from where it is called, as any function the schema does not
  define (:mod:`missing_functions`).
- PostGIS's casts (``geometry`` → ``geography`` implicit, the reverse explicit,
  ``text``/``bytea`` ↔ ``geometry`` implicit…), its operators (``&&``, ``<->``, ``<#>``,
  ``~=``, ``@``, ``~``, the comparisons, with btree operator classes so ``DISTINCT`` and
  ``GROUP BY`` work), the aggregates ``ST_Union``, ``ST_Collect``, ``ST_MakeLine``,
  ``ST_Extent``, ``ST_3DExtent``, ``ST_MemUnion``, ``ST_Polygonize`` and
  ``ST_ClusterIntersecting``, the ``geometry_dump`` type, ``spatial_ref_sys``, and
  ``AddGeometryColumn``/``DropGeometryColumn``, which change the table as PostGIS's do.

A GiST, SP-GiST or BRIN index on these types cannot be stood in (its support functions
take ``internal``): it is skipped with a warning, as any index of a missing extension.
"""

from __future__ import annotations

#: PostGIS's geometry type names, at their type numbers (GEOMETRY, 0, is any type)
GEOMETRY_KINDS = (
    "GEOMETRY",
    "POINT",
    "LINESTRING",
    "POLYGON",
    "MULTIPOINT",
    "MULTILINESTRING",
    "MULTIPOLYGON",
    "GEOMETRYCOLLECTION",
    "CIRCULARSTRING",
    "COMPOUNDCURVE",
    "CURVEPOLYGON",
    "MULTICURVE",
    "MULTISURFACE",
    "POLYHEDRALSURFACE",
    "TRIANGLE",
    "TIN",
)
#: the SRID of a geography column whose modifiers name none (a geometry's is 0: unknown)
GEOGRAPHY_DEFAULT_SRID = 4326
#: PostGIS's largest SRID and the largest a user may define: a larger one is folded into
#: the range between them
SRID_MAXIMUM = 999999
SRID_USER_MAXIMUM = 998999


def _typmod_in(name: str, default_srid: int) -> str:
    """``name``'s typmod_in, in PL/pgSQL: PostGIS's reading of ``(type[, srid[, …]])``."""
    kinds = ", ".join(f"'{k}'" for k in GEOMETRY_KINDS)
    fold = SRID_MAXIMUM - SRID_USER_MAXIMUM - 1
    return f"""CREATE FUNCTION {{s}}.{name}_typmod_in(cstring[]) RETURNS integer
LANGUAGE plpgsql IMMUTABLE STRICT AS $typmod$
DECLARE
    mods text[] := $1::text[];
    kind text := translate(btrim(mods[1], ' '), 'abcdefghijklmnopqrstuvwxyz',
                           'ABCDEFGHIJKLMNOPQRSTUVWXYZ');
    kinds text[] := ARRAY[{kinds}];
    dims text;
    t integer;
    srid_text text;
    srid numeric;
    srid_bits bigint := {default_srid};
BEGIN
    FOREACH dims IN ARRAY ARRAY['', 'Z', 'M', 'ZM'] LOOP
        IF right(kind, length(dims)) = dims THEN
            t := array_position(kinds, left(kind, length(kind) - length(dims)));
            EXIT WHEN t IS NOT NULL;
        END IF;
    END LOOP;
    IF t IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('Invalid geometry type modifier: %s', mods[1]);
    END IF;
    IF array_length(mods, 1) >= 2 THEN
        srid_text := ltrim(mods[2], ' ' || chr(9) || chr(10) || chr(11) || chr(12) || chr(13));
        IF srid_text !~ '^[+-]?[0-9]+$' THEN
            RAISE EXCEPTION USING ERRCODE = 'invalid_text_representation',
                MESSAGE = format('invalid input syntax for type integer: "%s"', mods[2]);
        END IF;
        srid := srid_text::numeric;
        IF srid < -2147483648 OR srid > 2147483647 THEN
            RAISE EXCEPTION USING ERRCODE = 'numeric_value_out_of_range',
                MESSAGE = format('value "%s" is out of range for type integer', mods[2]);
        END IF;
        IF srid > {SRID_MAXIMUM} THEN
            srid := {SRID_USER_MAXIMUM + 1} + srid % {fold};
        END IF;
        IF srid > 0 THEN
            srid_bits := srid;
        END IF;
    END IF;
    RETURN (((srid_bits & 2097151) << 8) | ((t - 1) << 2)
            | (CASE WHEN dims LIKE 'Z%' THEN 2 ELSE 0 END)
            | (CASE WHEN dims LIKE '%M' THEN 1 ELSE 0 END))::integer;
END
$typmod$"""


def _base_type(name: str, typmod: int | None, delimiter: str = ",") -> tuple[str, ...]:
    """``name`` as a base type kept as text; with a typmod_in when ``typmod`` (the default
    SRID) is given."""
    made = [
        f"CREATE TYPE {{s}}.{name}",
        f"CREATE FUNCTION {{s}}.{name}_in(cstring) RETURNS {{s}}.{name} "
        "LANGUAGE internal IMMUTABLE STRICT AS 'textin'",
        f"CREATE FUNCTION {{s}}.{name}_out({{s}}.{name}) RETURNS cstring "
        "LANGUAGE internal IMMUTABLE STRICT AS 'textout'",
    ]
    options = f"INPUT = {{s}}.{name}_in, OUTPUT = {{s}}.{name}_out"
    if typmod is not None:
        made.append(_typmod_in(name, typmod))
        options += f", TYPMOD_IN = {{s}}.{name}_typmod_in"
    made.append(
        f"CREATE TYPE {{s}}.{name} ({options}, INTERNALLENGTH = VARIABLE, "
        f"STORAGE = extended, DELIMITER = '{delimiter}')"
    )
    return tuple(made)


#: the types, before the functions. PostGIS writes arrays of geometry and geography with
#: ':' between elements, as it declares.
TYPES: tuple[str, ...] = (
    *_base_type("geometry", 0, ":"),
    *_base_type("geography", GEOGRAPHY_DEFAULT_SRID, ":"),
    *_base_type("box2d", None),
    *_base_type("box3d", None),
    *_base_type("spheroid", None),
    "CREATE TYPE {s}.geometry_dump AS (path integer[], geom {s}.geometry)",
)

#: what the stand-in types' names are, to qualify a body's result type
STANDIN_TYPES = ("geometry", "geography", "box2d", "box3d", "spheroid", "geometry_dump")

# One function a line: its signature as PostGIS declares it, "->", its result type. An
# indented line continues the one before. Type names are resolved in the stand-in's
# schema (see standins.standin_sql).
_TABLE = """
postgis_lib_version() -> text
postgis_version() -> text
postgis_full_version() -> text
geometry_lt(geom1 geometry, geom2 geometry) -> boolean
geometry_le(geom1 geometry, geom2 geometry) -> boolean
geometry_gt(geom1 geometry, geom2 geometry) -> boolean
geometry_ge(geom1 geometry, geom2 geometry) -> boolean
geometry_eq(geom1 geometry, geom2 geometry) -> boolean
geometry_neq(geom1 geometry, geom2 geometry) -> boolean
geometry_cmp(geom1 geometry, geom2 geometry) -> integer
geometry_overlaps(geom1 geometry, geom2 geometry) -> boolean
geometry_same(geom1 geometry, geom2 geometry) -> boolean
geometry_distance_centroid(geom1 geometry, geom2 geometry) -> float8
geometry_distance_box(geom1 geometry, geom2 geometry) -> float8
geometry_contains(geom1 geometry, geom2 geometry) -> boolean
geometry_within(geom1 geometry, geom2 geometry) -> boolean
geometry_left(geom1 geometry, geom2 geometry) -> boolean
geometry_overleft(geom1 geometry, geom2 geometry) -> boolean
geometry_below(geom1 geometry, geom2 geometry) -> boolean
geometry_overbelow(geom1 geometry, geom2 geometry) -> boolean
geometry_overright(geom1 geometry, geom2 geometry) -> boolean
geometry_right(geom1 geometry, geom2 geometry) -> boolean
geometry_overabove(geom1 geometry, geom2 geometry) -> boolean
geometry_above(geom1 geometry, geom2 geometry) -> boolean
geography_overlaps(geography, geography) -> boolean
geography_distance_knn(geography, geography) -> float8
geography_lt(geography, geography) -> boolean
geography_le(geography, geography) -> boolean
geography_gt(geography, geography) -> boolean
geography_ge(geography, geography) -> boolean
geography_eq(geography, geography) -> boolean
geography_cmp(geography, geography) -> integer
ST_Dump(geometry) -> SETOF geometry_dump
ST_DumpPoints(geometry) -> SETOF geometry_dump
ST_DumpRings(geometry) -> SETOF geometry_dump
ST_DumpSegments(geometry) -> SETOF geometry_dump
ST_DistanceSpheroid(geom1 geometry, geom2 geometry, spheroid) -> float8
ST_LengthSpheroid(geometry, spheroid) -> float8
ST_X(geometry) -> float8
ST_Y(geometry) -> float8
ST_Z(geometry) -> float8
ST_M(geometry) -> float8
ST_XMin(box3d) -> float8
ST_YMin(box3d) -> float8
ST_ZMin(box3d) -> float8
ST_XMax(box3d) -> float8
ST_YMax(box3d) -> float8
ST_ZMax(box3d) -> float8
ST_Expand(box2d, float8) -> box2d
ST_Expand(box box2d, dx float8, dy float8) -> box2d
ST_MakeBox2d(geom1 geometry, geom2 geometry) -> box2d
ST_EstimatedExtent(text, text, text, boolean) -> box2d
ST_EstimatedExtent(text, text, text) -> box2d
ST_EstimatedExtent(text, text) -> box2d
ST_QuantizeCoordinates(g geometry, prec_x int, prec_y int DEFAULT NULL,
    prec_z int DEFAULT NULL, prec_m int DEFAULT NULL) -> geometry
ST_MemSize(geometry) -> integer
ST_Summary(geometry) -> text
ST_NPoints(geometry) -> integer
ST_3DLength(geometry) -> float8
ST_Length2d(geometry) -> float8
ST_Length(geometry) -> float8
ST_Perimeter(geometry) -> float8
ST_Area(geometry) -> float8
ST_DistanceSpheroid(geom1 geometry, geom2 geometry) -> float8
ST_Distance(geom1 geometry, geom2 geometry) -> float8
ST_azimuth(geom1 geometry, geom2 geometry) -> float8
ST_Project(geom1 geometry, distance float8, azimuth float8) -> geometry
ST_Project(geom1 geometry, geom2 geometry, distance float8) -> geometry
ST_Angle(pt1 geometry, pt2 geometry, pt3 geometry,
    pt4 geometry default 'POINT EMPTY'::geometry) -> float8
ST_Force2D(geometry) -> geometry
ST_Force3DZ(geom geometry, zvalue float8 default 0.0) -> geometry
ST_Force3D(geom geometry, zvalue float8 default 0.0) -> geometry
ST_Force4D(geom geometry, zvalue float8 default 0.0, mvalue float8 default 0.0) -> geometry
ST_ForceCollection(geometry) -> geometry
ST_CollectionExtract(geometry, integer) -> geometry
ST_CollectionExtract(geometry) -> geometry
ST_Multi(geometry) -> geometry
ST_Expand(box3d, float8) -> box3d
ST_Expand(box box3d, dx float8, dy float8, dz float8 DEFAULT 0) -> box3d
ST_Expand(geometry, float8) -> geometry
ST_Expand(geom geometry, dx float8, dy float8, dz float8 DEFAULT 0,
    dm float8 DEFAULT 0) -> geometry
ST_Envelope(geometry) -> geometry
ST_Reverse(geometry) -> geometry
ST_ForcePolygonCW(geometry) -> geometry
ST_ForcePolygonCCW(geometry) -> geometry
ST_ForceRHR(geometry) -> geometry
ST_Normalize(geom geometry) -> geometry
ST_zmflag(geometry) -> smallint
ST_NDims(geometry) -> smallint
ST_AsEWKT(geometry) -> text
ST_AsEWKT(geometry, integer) -> text
ST_AsEWKB(geometry) -> bytea
ST_AsHEXEWKB(geometry) -> text
ST_AsHEXEWKB(geometry, text) -> text
ST_AsEWKB(geometry, text) -> bytea
ST_GeomFromEWKB(bytea) -> geometry
ST_GeomFromEWKT(text) -> geometry
ST_MakePoint(float8, float8) -> geometry
ST_MakePoint(float8, float8, float8) -> geometry
ST_MakePoint(float8, float8, float8, float8) -> geometry
ST_MakePointM(float8, float8, float8) -> geometry
ST_MakeLine(geometry[]) -> geometry
ST_MakeLine(geom1 geometry, geom2 geometry) -> geometry
ST_AddPoint(geom1 geometry, geom2 geometry) -> geometry
ST_AddPoint(geom1 geometry, geom2 geometry, integer) -> geometry
ST_RemovePoint(geometry, integer) -> geometry
ST_SetPoint(geometry, integer, geometry) -> geometry
ST_MakeEnvelope(float8, float8, float8, float8, integer DEFAULT 0) -> geometry
ST_TileEnvelope(zoom integer, x integer, y integer, bounds geometry DEFAULT NULL,
    margin float8 DEFAULT 0.0) -> geometry
ST_MakePolygon(geometry, geometry[]) -> geometry
ST_MakePolygon(geometry) -> geometry
ST_BuildArea(geometry) -> geometry
ST_Polygonize(geometry[]) -> geometry
ST_LineMerge(geometry) -> geometry
ST_LineMerge(geometry, boolean) -> geometry
ST_Affine(geometry, float8, float8, float8, float8, float8, float8, float8, float8, float8,
    float8, float8, float8) -> geometry
ST_Affine(geometry, float8, float8, float8, float8, float8, float8) -> geometry
ST_Rotate(geometry, float8) -> geometry
ST_Rotate(geometry, float8, float8, float8) -> geometry
ST_Rotate(geometry, float8, geometry) -> geometry
ST_Translate(geometry, float8, float8, float8) -> geometry
ST_Translate(geometry, float8, float8) -> geometry
ST_Scale(geometry, geometry) -> geometry
ST_Scale(geometry, geometry, origin geometry) -> geometry
ST_Scale(geometry, float8, float8, float8) -> geometry
ST_Scale(geometry, float8, float8) -> geometry
ST_SetSRID(geom geometry, srid integer) -> geometry
ST_SRID(geom geometry) -> integer
ST_Transform(geometry, integer) -> geometry
ST_Transform(geom geometry, to_proj text) -> geometry
ST_Transform(geom geometry, from_proj text, to_proj text) -> geometry
ST_Transform(geom geometry, from_proj text, to_srid integer) -> geometry
box2d(geometry) -> box2d
box3d(geometry) -> box3d
box2d(box3d) -> box2d
box3d(box2d) -> box3d
ST_Simplify(geometry, float8) -> geometry
ST_Simplify(geometry, float8, boolean) -> geometry
ST_ChaikinSmoothing(geometry, integer default 1, boolean default false) -> geometry
ST_SnapToGrid(geometry, float8, float8, float8, float8) -> geometry
ST_SnapToGrid(geometry, float8, float8) -> geometry
ST_SnapToGrid(geometry, float8) -> geometry
ST_SnapToGrid(geom1 geometry, geom2 geometry, float8, float8, float8, float8) -> geometry
ST_Segmentize(geometry, float8) -> geometry
ST_LineInterpolatePoint(geometry, float8) -> geometry
ST_LineSubstring(geometry, float8, float8) -> geometry
ST_LineLocatePoint(geom1 geometry, geom2 geometry) -> float8
ST_Intersection(geom1 geometry, geom2 geometry, gridSize float8 DEFAULT -1) -> geometry
ST_Buffer(geom geometry, radius float8, options text DEFAULT '') -> geometry
ST_Buffer(geom geometry, radius float8, quadsegs integer) -> geometry
ST_MinimumBoundingCircle(inputgeom geometry,
    segs_per_quarter integer DEFAULT 48) -> geometry
ST_OrientedEnvelope(geometry) -> geometry
ST_GeneratePoints(area geometry, npoints integer) -> geometry
ST_GeneratePoints(area geometry, npoints integer, seed integer) -> geometry
ST_ConvexHull(geometry) -> geometry
ST_SimplifyPreserveTopology(geometry, float8) -> geometry
ST_IsValidReason(geometry) -> text
ST_IsValidReason(geometry, integer) -> text
ST_IsValid(geometry, integer) -> boolean
ST_HausdorffDistance(geom1 geometry, geom2 geometry) -> float8
ST_HausdorffDistance(geom1 geometry, geom2 geometry, float8) -> float8
ST_FrechetDistance(geom1 geometry, geom2 geometry, float8 default -1) -> float8
ST_Difference(geom1 geometry, geom2 geometry, gridSize float8 DEFAULT -1.0) -> geometry
ST_Boundary(geometry) -> geometry
ST_Points(geometry) -> geometry
ST_SymDifference(geom1 geometry, geom2 geometry, gridSize float8 DEFAULT -1.0) -> geometry
ST_Union(geom1 geometry, geom2 geometry) -> geometry
ST_Union(geom1 geometry, geom2 geometry, gridSize float8) -> geometry
ST_UnaryUnion(geometry, gridSize float8 DEFAULT -1.0) -> geometry
ST_ClipByBox2d(geom geometry, box box2d) -> geometry
ST_Subdivide(geom geometry, maxvertices integer DEFAULT 256,
    gridSize float8 DEFAULT -1.0) -> SETOF geometry
ST_ReducePrecision(geom geometry, gridsize float8) -> geometry
ST_MakeValid(geometry) -> geometry
ST_MakeValid(geom geometry, params text) -> geometry
ST_Split(geom1 geometry, geom2 geometry) -> geometry
ST_Node(g geometry) -> geometry
ST_DelaunayTriangles(g1 geometry, tolerance float8 DEFAULT 0.0,
    flags integer DEFAULT 0) -> geometry
ST_VoronoiPolygons(g1 geometry, tolerance float8 DEFAULT 0.0,
    extend_to geometry DEFAULT NULL) -> geometry
ST_CombineBBox(box3d, geometry) -> box3d
ST_CombineBBox(box3d, box3d) -> box3d
ST_CombineBBox(box2d, geometry) -> box2d
ST_Collect(geom1 geometry, geom2 geometry) -> geometry
ST_Collect(geometry[]) -> geometry
ST_Union(geometry[]) -> geometry
ST_Relate(geom1 geometry, geom2 geometry) -> text
ST_Relate(geom1 geometry, geom2 geometry, integer) -> text
ST_Relate(geom1 geometry, geom2 geometry, text) -> boolean
ST_Disjoint(geom1 geometry, geom2 geometry) -> boolean
ST_DWithin(geom1 geometry, geom2 geometry, float8) -> boolean
ST_Touches(geom1 geometry, geom2 geometry) -> boolean
ST_Intersects(geom1 geometry, geom2 geometry) -> boolean
ST_Crosses(geom1 geometry, geom2 geometry) -> boolean
ST_Contains(geom1 geometry, geom2 geometry) -> boolean
ST_ContainsProperly(geom1 geometry, geom2 geometry) -> boolean
ST_Within(geom1 geometry, geom2 geometry) -> boolean
ST_Covers(geom1 geometry, geom2 geometry) -> boolean
ST_CoveredBy(geom1 geometry, geom2 geometry) -> boolean
ST_Overlaps(geom1 geometry, geom2 geometry) -> boolean
ST_DFullyWithin(geom1 geometry, geom2 geometry, float8) -> boolean
ST_OrderingEquals(geom1 geometry, geom2 geometry) -> boolean
ST_Equals(geom1 geometry, geom2 geometry) -> boolean
ST_IsValid(geometry) -> boolean
ST_Centroid(geometry) -> geometry
ST_IsRing(geometry) -> boolean
ST_PointOnSurface(geometry) -> geometry
ST_IsSimple(geometry) -> boolean
ST_GeomFromGeoJson(text) -> geometry
ST_GeomFromGeoJson(json) -> geometry
ST_GeomFromGeoJson(jsonb) -> geometry
ST_LineFromEncodedPolyline(txtin text, nprecision integer DEFAULT 5) -> geometry
ST_AsEncodedPolyline(geom geometry, nprecision integer DEFAULT 5) -> text
ST_AsSVG(geom geometry, rel integer DEFAULT 0, maxdecimaldigits integer DEFAULT 15) -> text
ST_AsGML(geom geometry, maxdecimaldigits integer DEFAULT 15,
    options integer DEFAULT 0) -> text
ST_AsGML(version integer, geom geometry, maxdecimaldigits integer DEFAULT 15,
    options integer DEFAULT 0, nprefix text DEFAULT null, id text DEFAULT null) -> text
ST_AsKML(geom geometry, maxdecimaldigits integer DEFAULT 15,
    nprefix TEXT default '') -> text
ST_AsGeoJson(geom geometry, maxdecimaldigits integer DEFAULT 9,
    options integer DEFAULT 8) -> text
ST_AsMVTGeom(geom geometry, bounds box2d, extent integer default 4096,
    buffer integer default 256, clip_geom bool default true) -> geometry
ST_GeoHash(geom geometry, maxchars integer DEFAULT 0) -> text
ST_PointFromGeoHash(text, integer DEFAULT NULL) -> geometry
ST_GeomFromGeoHash(text, integer DEFAULT NULL) -> geometry
ST_NumPoints(geometry) -> integer
ST_NumGeometries(geometry) -> integer
ST_GeometryN(geometry, integer) -> geometry
ST_Dimension(geometry) -> integer
ST_ExteriorRing(geometry) -> geometry
ST_NumInteriorRings(geometry) -> integer
ST_InteriorRingN(geometry, integer) -> geometry
GeometryType(geometry) -> text
ST_GeometryType(geometry) -> text
ST_PointN(geometry, integer) -> geometry
ST_StartPoint(geometry) -> geometry
ST_EndPoint(geometry) -> geometry
ST_IsClosed(geometry) -> boolean
ST_IsEmpty(geometry) -> boolean
ST_AsBinary(geometry, text) -> bytea
ST_AsBinary(geometry) -> bytea
ST_AsText(geometry) -> text
ST_AsText(geometry, integer) -> text
ST_GeometryFromText(text) -> geometry
ST_GeometryFromText(text, integer) -> geometry
ST_GeomFromText(text) -> geometry
ST_GeomFromText(text, integer) -> geometry
ST_PointFromText(text) -> geometry
ST_PointFromText(text, integer) -> geometry
ST_LineFromText(text) -> geometry
ST_LineFromText(text, integer) -> geometry
ST_PolygonFromText(text, integer) -> geometry
ST_PolygonFromText(text) -> geometry
ST_MPointFromText(text, integer) -> geometry
ST_MPointFromText(text) -> geometry
ST_GeomCollFromText(text, integer) -> geometry
ST_GeomCollFromText(text) -> geometry
ST_GeomFromWKB(bytea) -> geometry
ST_GeomFromWKB(bytea, int) -> geometry
ST_MaxDistance(geom1 geometry, geom2 geometry) -> float8
ST_MaxDistance(geom geometry) -> float8
ST_ClosestPoint(geom1 geometry, geom2 geometry) -> geometry
ST_ShortestLine(geom1 geometry, geom2 geometry) -> geometry
ST_LongestLine(geom1 geometry, geom2 geometry) -> geometry
ST_LongestLine(geom geometry) -> geometry
ST_FlipCoordinates(geometry) -> geometry
ST_DistanceSphere(geom1 geometry, geom2 geometry) -> float8
ST_DistanceSphere(geom1 geometry, geom2 geometry, radius float8) -> float8
ST_3DDistance(geom1 geometry, geom2 geometry) -> float8
ST_CoordDim(Geometry geometry) -> smallint
ST_HasArc(Geometry geometry) -> boolean
ST_Point(float8, float8) -> geometry
ST_Point(float8, float8, srid integer) -> geometry
ST_PointZ(XCoordinate float8, YCoordinate float8, ZCoordinate float8,
    srid integer DEFAULT 0) -> geometry
ST_PointM(XCoordinate float8, YCoordinate float8, MCoordinate float8,
    srid integer DEFAULT 0) -> geometry
ST_PointZM(XCoordinate float8, YCoordinate float8, ZCoordinate float8, MCoordinate float8,
    srid integer DEFAULT 0) -> geometry
ST_Polygon(geometry, int) -> geometry
ST_Hexagon(size float8, cell_i integer, cell_j integer,
    origin geometry DEFAULT 'POINT(0 0)') -> geometry
ST_Square(size float8, cell_i integer, cell_j integer,
    origin geometry DEFAULT 'POINT(0 0)') -> geometry
ST_ConcaveHull(param_geom geometry, param_pctconvex float,
    param_allow_holes boolean DEFAULT false) -> geometry
ST_Angle(line1 geometry, line2 geometry) -> float8
ST_AsText(geography) -> text
ST_AsText(geography, integer) -> text
ST_AsText(text) -> text
ST_GeographyFromText(text) -> geography
ST_GeogFromText(text) -> geography
ST_GeogFromWKB(bytea) -> geography
ST_AsSVG(geog geography, rel integer DEFAULT 0, maxdecimaldigits integer DEFAULT 15) -> text
ST_AsSVG(text) -> text
ST_AsGML(version integer, geog geography, maxdecimaldigits integer DEFAULT 15,
    options integer DEFAULT 0, nprefix text DEFAULT 'gml', id text DEFAULT '') -> text
ST_AsGML(geog geography, maxdecimaldigits integer DEFAULT 15, options integer DEFAULT 0,
    nprefix text DEFAULT 'gml', id text DEFAULT '') -> text
ST_AsGML(text) -> text
ST_AsKML(geog geography, maxdecimaldigits integer DEFAULT 15,
    nprefix text DEFAULT '') -> text
ST_AsKML(text) -> text
ST_AsGeoJson(geog geography, maxdecimaldigits integer DEFAULT 9,
    options integer DEFAULT 0) -> text
ST_AsGeoJson(text) -> text
ST_Distance(geog1 geography, geog2 geography, use_spheroid boolean DEFAULT true) -> float8
ST_Distance(text, text) -> float8
ST_Area(geog geography, use_spheroid boolean DEFAULT true) -> float8
ST_Area(text) -> float8
ST_Length(geog geography, use_spheroid boolean DEFAULT true) -> float8
ST_Length(text) -> float8
ST_Project(geog geography, distance float8, azimuth float8) -> geography
ST_Project(geog_from geography, geog_to geography, distance float8) -> geography
ST_azimuth(geog1 geography, geog2 geography) -> float8
ST_Perimeter(geog geography, use_spheroid boolean DEFAULT true) -> float8
ST_Segmentize(geog geography, max_segment_length float8) -> geography
ST_AsBinary(geography) -> bytea
ST_AsBinary(geography, text) -> bytea
ST_AsEWKT(geography) -> text
ST_AsEWKT(geography, integer) -> text
ST_AsEWKT(text) -> text
GeometryType(geography) -> text
ST_Summary(geography) -> text
ST_GeoHash(geog geography, maxchars integer DEFAULT 0) -> text
ST_SRID(geog geography) -> integer
ST_SetSRID(geog geography, srid integer) -> geography
ST_Centroid(geography, use_spheroid boolean DEFAULT true) -> geography
ST_Centroid(text) -> geometry
ST_Covers(geog1 geography, geog2 geography) -> boolean
ST_DWithin(geog1 geography, geog2 geography, tolerance float8,
    use_spheroid boolean DEFAULT true) -> boolean
ST_CoveredBy(geog1 geography, geog2 geography) -> boolean
ST_Intersects(geog1 geography, geog2 geography) -> boolean
ST_Buffer(geography, float8) -> geography
ST_Buffer(geography, float8, integer) -> geography
ST_Buffer(geography, float8, text) -> geography
ST_Buffer(text, float8) -> geometry
ST_Buffer(text, float8, integer) -> geometry
ST_Buffer(text, float8, text) -> geometry
ST_Intersection(geography, geography) -> geography
ST_Intersection(text, text) -> geometry
ST_Covers(text, text) -> boolean
ST_CoveredBy(text, text) -> boolean
ST_DWithin(text, text, float8) -> boolean
ST_Intersects(text, text) -> boolean
ST_ClosestPoint(geography, geography, use_spheroid boolean DEFAULT true) -> geography
ST_ClosestPoint(text, text) -> geometry
ST_ShortestLine(geography, geography, use_spheroid boolean DEFAULT true) -> geography
ST_ShortestLine(text, text) -> geometry
ST_LineSubstring(geography, float8, float8) -> geography
ST_LineSubstring(text, float8, float8) -> geometry
ST_LineLocatePoint(geography, geography, use_spheroid boolean DEFAULT true) -> float8
ST_LineLocatePoint(text, text) -> float8
ST_LineInterpolatePoint(geography, float8, use_spheroid boolean DEFAULT true) -> geography
ST_LineInterpolatePoint(text, float8) -> geometry
"""


def _parse(table: str) -> tuple[tuple[str, str], ...]:
    lines: list[str] = []
    for line in table.strip().splitlines():
        if line.startswith(" ") and lines:
            lines[-1] += " " + line.strip()
        else:
            lines.append(line)
    return tuple(
        (sig.strip(), result.strip()) for sig, result in (ln.rsplit("->", 1) for ln in lines)
    )


#: (signature, result type) of every stood-in function
FUNCTIONS = _parse(_TABLE)


def _qualified(result: str) -> str:
    """``result`` with a stand-in type named in its schema ``{s}`` (a function body is read
    with the caller's search path, which may not include it)."""
    setof = result.upper().startswith("SETOF ")
    name = result[6:].strip() if setof else result
    base = name.removesuffix("[]")
    if base in STANDIN_TYPES:
        name = "{s}." + name
    return name


#: (signature, result, body) of every stood-in function, as standins.STANDINS holds them
STANDIN_FUNCTIONS: tuple[tuple[str, str, str], ...] = tuple(
    (sig, result, f"SELECT NULL::{_qualified(result)}") for sig, result in FUNCTIONS
)


def _operator(op: str, left: str, function: str, right: str | None = None) -> str:
    return (
        f"CREATE OPERATOR {{s}}.{op} (LEFTARG = {{s}}.{left}, "
        f"RIGHTARG = {{s}}.{right or left}, FUNCTION = {{s}}.{function})"
    )


def _btree(t: str) -> str:
    return (
        f"CREATE OPERATOR CLASS {{s}}.btree_{t}_ops DEFAULT FOR TYPE {{s}}.{t} USING btree AS "
        f"OPERATOR 1 {{s}}.<, OPERATOR 2 {{s}}.<=, OPERATOR 3 {{s}}.=, OPERATOR 4 {{s}}.>=, "
        f"OPERATOR 5 {{s}}.>, FUNCTION 1 {{s}}.{t}_cmp({{s}}.{t}, {{s}}.{t})"
    )


_COMPARISONS = (("<", "lt"), ("<=", "le"), ("=", "eq"), (">=", "ge"), (">", "gt"))
_GEOMETRY_OPERATORS = (
    ("<>", "geometry_neq"),
    ("&&", "geometry_overlaps"),
    ("~=", "geometry_same"),
    ("<->", "geometry_distance_centroid"),
    ("<#>", "geometry_distance_box"),
    ("@", "geometry_within"),
    ("~", "geometry_contains"),
    ("<<", "geometry_left"),
    ("&<", "geometry_overleft"),
    ("<<|", "geometry_below"),
    ("&<|", "geometry_overbelow"),
    ("&>", "geometry_overright"),
    (">>", "geometry_right"),
    ("|&>", "geometry_overabove"),
    ("|>>", "geometry_above"),
)


def _cast(source: str, target: str, context: str = "") -> str:
    return f"CREATE CAST ({source} AS {target}) WITH INOUT{context}"


_ADD_COLUMN = """CREATE FUNCTION {s}.AddGeometryColumn(catalog_name varchar,
    schema_name varchar, table_name varchar, column_name varchar, new_srid_in integer,
    new_type varchar, new_dim integer, use_typmod boolean DEFAULT true) RETURNS text
LANGUAGE plpgsql VOLATILE STRICT AS $body$
DECLARE
    kind text := upper(new_type);
BEGIN
    IF new_dim = 3 AND right(kind, 1) <> 'M' THEN
        kind := kind || 'Z';
    ELSIF new_dim = 4 THEN
        kind := kind || 'ZM';
    END IF;
    EXECUTE format('ALTER TABLE %I.%I ADD COLUMN %I {s}.geometry%s', schema_name, table_name,
        column_name, CASE WHEN use_typmod THEN format('(%s, %s)', kind, new_srid_in) ELSE '' END);
    RETURN format('%s.%s.%s SRID:%s TYPE:%s DIMS:%s ', schema_name, table_name, column_name,
        new_srid_in, new_type, new_dim);
END
$body$"""

_DROP_COLUMN = """CREATE FUNCTION {s}.DropGeometryColumn(catalog_name varchar,
    schema_name varchar, table_name varchar, column_name varchar) RETURNS text
LANGUAGE plpgsql VOLATILE STRICT AS $body$
BEGIN
    EXECUTE format('ALTER TABLE %I.%I DROP COLUMN %I', schema_name, table_name, column_name);
    RETURN format('%s.%s.%s effectively removed.', schema_name, table_name, column_name);
END
$body$"""


def _sql_function(signature: str, result: str, body: str) -> str:
    return (
        f"CREATE FUNCTION {{s}}.{signature} RETURNS {result} LANGUAGE sql VOLATILE STRICT "
        f"AS $body$ {body} $body$"
    )


#: AddGeometryColumn and DropGeometryColumn, as old schemas add geometry columns: they
#: change the table, as PostGIS's do (the shorter forms use the current schema)
GEOMETRY_COLUMNS: tuple[str, ...] = (
    _ADD_COLUMN,
    _sql_function(
        "AddGeometryColumn(schema_name varchar, table_name varchar, column_name varchar, "
        "new_srid integer, new_type varchar, new_dim integer, use_typmod boolean DEFAULT true)",
        "text",
        "SELECT {s}.AddGeometryColumn('', $1, $2, $3, $4, $5, $6, $7)",
    ),
    _sql_function(
        "AddGeometryColumn(table_name varchar, column_name varchar, new_srid integer, "
        "new_type varchar, new_dim integer, use_typmod boolean DEFAULT true)",
        "text",
        "SELECT {s}.AddGeometryColumn('', current_schema()::varchar, $1, $2, $3, $4, $5, $6)",
    ),
    _DROP_COLUMN,
    _sql_function(
        "DropGeometryColumn(schema_name varchar, table_name varchar, column_name varchar)",
        "text",
        "SELECT {s}.DropGeometryColumn('', $1, $2, $3)",
    ),
    _sql_function(
        "DropGeometryColumn(table_name varchar, column_name varchar)",
        "text",
        "SELECT {s}.DropGeometryColumn('', current_schema()::varchar, $1, $2)",
    ),
)

_IMPLICIT = " AS IMPLICIT"
_G, _GG, _B2, _B3 = "{s}.geometry", "{s}.geography", "{s}.box2d", "{s}.box3d"

#: what is created after the functions: casts, operators, aggregates, a table
AFTER: tuple[str, ...] = (
    _cast("text", _G, _IMPLICIT),
    _cast(_G, "text", _IMPLICIT),
    _cast("bytea", _G, _IMPLICIT),
    _cast(_G, "bytea", _IMPLICIT),
    _cast(_G, _GG, _IMPLICIT),
    _cast(_GG, _G),
    _cast("bytea", _GG, _IMPLICIT),
    _cast(_GG, "bytea", _IMPLICIT),
    _cast(_G, "json"),
    _cast(_G, "jsonb"),
    _cast(_G, _B2, _IMPLICIT),
    _cast(_G, _B3, _IMPLICIT),
    _cast(_G, "box", " AS ASSIGNMENT"),
    _cast(_B3, _B2, _IMPLICIT),
    _cast(_B2, _B3, _IMPLICIT),
    _cast(_B2, _G, _IMPLICIT),
    _cast(_B3, "box", _IMPLICIT),
    _cast(_B3, _G, _IMPLICIT),
    *(_cast(_G, t) for t in ("point", "path", "polygon")),
    *(_cast(t, _G) for t in ("point", "path", "polygon")),
    *(_operator(op, "geometry", f"geometry_{fn}") for op, fn in _COMPARISONS),
    *(_operator(op, "geometry", fn) for op, fn in _GEOMETRY_OPERATORS),
    *(_operator(op, "geography", f"geography_{fn}") for op, fn in _COMPARISONS),
    _operator("&&", "geography", "geography_overlaps"),
    _operator("<->", "geography", "geography_distance_knn"),
    _btree("geometry"),
    _btree("geography"),
    f"CREATE AGGREGATE {{s}}.ST_Union({_G}) (SFUNC = {{s}}.ST_Union, STYPE = {_G})",
    f"CREATE AGGREGATE {{s}}.ST_Union({_G}, gridSize float8) "
    f"(SFUNC = {{s}}.ST_Union, STYPE = {_G})",
    f"CREATE AGGREGATE {{s}}.ST_MemUnion({_G}) (SFUNC = {{s}}.ST_Union, STYPE = {_G})",
    f"CREATE AGGREGATE {{s}}.ST_Collect({_G}) (SFUNC = {{s}}.ST_Collect, STYPE = {_G})",
    f"CREATE AGGREGATE {{s}}.ST_Polygonize({_G}) (SFUNC = {{s}}.ST_Collect, STYPE = {_G})",
    f"CREATE AGGREGATE {{s}}.ST_MakeLine({_G}) (SFUNC = {{s}}.ST_MakeLine, STYPE = {_G})",
    f"CREATE AGGREGATE {{s}}.ST_Extent({_G}) (SFUNC = {{s}}.ST_CombineBBox, STYPE = {_B2})",
    f"CREATE AGGREGATE {{s}}.ST_3DExtent({_G}) (SFUNC = {{s}}.ST_CombineBBox, STYPE = {_B3})",
    f"CREATE AGGREGATE {{s}}.ST_ClusterIntersecting({_G}) "
    f"(SFUNC = pg_catalog.array_append, STYPE = {_G}[])",
    # a SQL function cannot take a record: this one is PL/pgSQL
    "CREATE FUNCTION {s}.ST_AsGeoJSON(r record, geom_column text DEFAULT '', "
    "maxdecimaldigits integer DEFAULT 9, pretty_bool boolean DEFAULT false, "
    "id_column text DEFAULT '') RETURNS text LANGUAGE plpgsql IMMUTABLE "
    "AS $body$ BEGIN RETURN NULL; END $body$",
    *GEOMETRY_COLUMNS,
    "CREATE TABLE {s}.spatial_ref_sys (srid integer NOT NULL PRIMARY KEY "
    f"CHECK (srid > 0 AND srid <= {SRID_USER_MAXIMUM}), auth_name varchar(256), "
    "auth_srid integer, srtext varchar(2048), proj4text varchar(2048))",
)

#: postgis_raster's type (its functions are typed where they are called)
RASTER_TYPES = _base_type("raster", None)
#: postgis_topology's schema and type (fixed: the extension is not relocatable)
TOPOLOGY_TYPES = (
    "CREATE SCHEMA IF NOT EXISTS topology",
    "CREATE TYPE topology.topogeometry AS "
    "(topology_id integer, layer_id integer, id bigint, type integer)",
)
