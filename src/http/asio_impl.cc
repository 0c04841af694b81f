// The one translation unit that compiles Boost.Asio's and Boost.Beast's implementation
// (BOOST_ASIO_SEPARATE_COMPILATION / BOOST_BEAST_SEPARATE_COMPILATION are set for arca_http),
// so the other http/ files compile only declarations.
#include <boost/asio/impl/src.hpp>
#include <boost/beast/src.hpp>
