! The Fortran side of bench_c_api: `count` back-to-back calls of the module's metric log (the type-bound
! generic with a real64 value and an int64 step), as a Fortran time loop makes them.
subroutine bench_fortran_burst(id, first_step, count) bind(c, name="bench_fortran_burst")
  use, intrinsic :: iso_c_binding, only: c_int, c_int64_t
  use, intrinsic :: iso_fortran_env, only: real64, int64
  use mltrack, only: mltrack_metric
  implicit none
  integer(c_int64_t), value :: id, first_step
  integer(c_int), value :: count
  type(mltrack_metric) :: m
  integer(int64) :: i
  m%id = id
  do i = 0, count - 1
     call m%log(0.5_real64, step=first_step + i)
  end do
end subroutine bench_fortran_burst
