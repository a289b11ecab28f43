"""The HDF5 file format inspector writes: the oldest that holds what each file needs.

HDF5 writes the newest format its library knows unless told otherwise, and
files in the format of HDF5 2.0 (what h5py 3.16 bundles) are unreadable to the
HDF5 1.10–1.14 that most tools still link (Debian's h5dump and h5ls, HDFView
3.x, MATLAB): their float16, bool and compressed uint8 datasets print
`*ERROR*`. Capping the format at 1.10 costs nothing the files use.
"""

# The newest file format any file may use: HDF5 1.10, the oldest with SWMR.
NEWEST_FORMAT = "v110"

# Inspection logs are written under SWMR, which needs the 1.10 format from the start.
SWMR_LIBVER = (NEWEST_FORMAT, NEWEST_FORMAT)

# Simulated datasets need no SWMR: "earliest" lets HDF5 use the oldest format that holds each
# object (HDF5 1.8 reads them too), and the upper bound keeps HDF5 2.0 from writing any newer one.
PLAIN_LIBVER = ("earliest", NEWEST_FORMAT)
